/**
 * The bundle's default Kubernetes names: the two namespaces, the Deployments (and Services, which
 * the chart names the same) and the one container of each pod. They are a contract with the
 * user — the verify command on the bundle's page names them — so TypeScript reads them from here.
 *
 * Bash and Helm cannot import this file; tools/lib.sh and charts/fast-ferry/values.yaml keep
 * their own copies, and tools/test/names.test.ts fails when either (or the chart's rendered
 * manifests and NOTES, or the apps' default session.url) stops agreeing with it.
 */

export interface AppNames {
  readonly namespace: string;
  /** The Deployment, and the Service in front of it. */
  readonly deployment: string;
}

export const INITIATOR: AppNames = Object.freeze({ namespace: 'fast-ferry-initiator-ns', deployment: 'initiator' });
export const TERMINATOR: AppNames = Object.freeze({ namespace: 'fast-ferry-terminator-ns', deployment: 'terminator' });

/** The app's container in either pod (the other containers, if any, are not ours). */
export const CONTAINER = 'web-app';

/** `kubectl logs -n fast-ferry-initiator-ns deployment/initiator -c web-app -f`: where the auto-trigger line shows. */
export function logsCommand(app: AppNames = INITIATOR): string {
  return `kubectl logs -n ${app.namespace} deployment/${app.deployment} -c ${CONTAINER} -f`;
}

/** The DNS names of an app's Service inside the cluster, shortest first. */
export function serviceDnsNames(app: AppNames): string[] {
  const { deployment: svc, namespace: ns } = app;
  return [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`];
}
