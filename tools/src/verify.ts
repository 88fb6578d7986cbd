/**
 * Verifies a deployment (deploy.sh's last step): waits until both Deployments are available,
 * then follows the web-app log of every initiator pod until "Auto-trigger complete — N/N messages sent"
 * (and prints that line). On failure or timeout it prints what the cluster knows: deployment
 * status, pod phases, container states, recent events, the last log lines of both pods and a
 * hint per known failure; then exits 1.
 *
 *   node tools/dist/verify.js [--context NAME] [--messages 5] [--timeout 180] [--diagnose]
 *
 * This file is the command line; the work is in verify/: flow.ts (control flow), diagnose.ts
 * (the report), hints.ts (the troubleshooting table as data), cluster.ts (the ClusterView
 * interface the flow reads through, faked in the tests) and kube.ts (its implementation over
 * @kubernetes/client-node).
 */
import { parseArgs } from 'node:util';
import { diagnose } from './verify/diagnose.js';
import { VerifyError, verify } from './verify/flow.js';
import { kubeClusterView } from './verify/kube.js';

export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        context: { type: 'string' },
        messages: { type: 'string', default: '5' },
        timeout: { type: 'string', default: '180' },
        diagnose: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nusage: verify.js [--context NAME] [--messages N] [--timeout SECONDS] [--diagnose]\n`);
    return 2;
  }
  const messages = Number(values.messages);
  const timeoutS = Number(values.timeout);
  if (!Number.isInteger(messages) || messages < 0 || !(timeoutS > 0)) {
    process.stderr.write('--messages must be an integer >= 0 and --timeout a number of seconds > 0\n');
    return 2;
  }
  const cluster = kubeClusterView(values.context);
  if (values.diagnose) {
    await diagnose({ cluster });
    return 0;
  }
  try {
    await verify({ cluster, messages, timeoutMs: timeoutS * 1000 });
    return 0;
  } catch (e) {
    if (e instanceof VerifyError) return 1;
    process.stderr.write(`✖ verify: cannot read the cluster: ${(e as Error).message}\n`);
    await diagnose({ cluster }).catch(() => undefined);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
