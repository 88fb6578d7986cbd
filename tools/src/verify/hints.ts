/**
 * What to do about what the diagnosis shows: one row per known failure, as data. diagnose()
 * prints "cause: fix" for each row whose pattern matches its report; `shows` describes the
 * symptom in words, so a README or docs generator can render the same rows as a table.
 */

export interface Hint {
  /** What the report shows, in words (a table's first column). */
  readonly shows: string;
  /** Matched against the whole diagnostic report. */
  readonly pattern: RegExp;
  readonly cause: string;
  readonly fix: string;
}

export const HINTS: readonly Hint[] = Object.freeze([
  {
    shows: '`ErrImageNeverPull`, `ErrImagePull` or `ImagePullBackOff`',
    pattern: /ErrImageNeverPull|ErrImagePull|ImagePullBackOff/,
    cause: 'the image is not in the cluster',
    fix: 'run bash deploy.sh again (it imports missing images); with your own registry set imagePullPolicy and push the tag',
  },
  {
    shows: 'a `FailedMount` event or `secret "…-tls" not found`',
    pattern: /secret "[^"]*-tls" not found|FailedMount/,
    cause: 'the TLS Secret is missing',
    fix: 'bash deploy.sh creates it (bash deploy.sh --rotate-certs re-issues it)',
  },
  {
    shows: '`FERRY_ERR_CONFIG`, `ConfigError` or `expected …` in a log',
    pattern: /FERRY_ERR_CONFIG|ConfigError|expected /,
    cause: 'the pod rejected its configuration',
    fix: 'the log line names the key; fix it in blueprint.yaml and deploy again',
  },
  {
    shows: '`FERRY_ERR_CERT…` or a certificate error in a log',
    pattern: /FERRY_ERR_CERT|certificate|CERT_/,
    cause: 'a certificate problem',
    fix: 'bash deploy.sh --rotate-certs issues fresh certificates and rolls both pods',
  },
  {
    shows: '`ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN` or an open circuit in the initiator\'s log',
    pattern: /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|circuit/i,
    cause: 'the initiator cannot reach the terminator',
    fix: 'check the terminator pod and kubectl get networkpolicy -A',
  },
  {
    shows: '`no ready terminator: … readiness probe failing`',
    pattern: /no ready terminator: .*readiness probe failing/,
    cause: 'the terminator runs but accepts no sessions (its /readyz fails while it is not listening yet or draining)',
    fix: 'its last log lines above say why (a listen error, a certificate); kubectl describe pod shows the probe answers',
  },
  {
    shows: '`pending, not scheduled`',
    pattern: /pending, not scheduled/,
    cause: 'a pod cannot be scheduled (the scheduler\'s reason is on the same line)',
    fix: 'lower replicas.<app> or resources.<app>.requests in blueprint.yaml, or add nodes (a topologySpread.whenUnsatisfiable of DoNotSchedule also leaves pods Pending)',
  },
  {
    shows: '`OOMKilled` as a termination reason',
    pattern: /OOMKilled/,
    cause: 'a container ran out of memory',
    fix: 'raise resources.<app>.limits.memory in blueprint.yaml',
  },
  {
    shows: '`CrashLoopBackOff` or `restarted N times`',
    pattern: /CrashLoopBackOff|restarted \d+ times/,
    cause: 'a container keeps crashing',
    fix: 'its last log lines above say why',
  },
].map((hint) => Object.freeze(hint)));

/** The hints whose pattern matches `report`, in table order, as printed: "cause: fix". */
export function hintsFor(report: string): string[] {
  return HINTS.filter((h) => h.pattern.test(report)).map((h) => `${h.cause}: ${h.fix}`);
}
