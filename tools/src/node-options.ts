/**
 * The Node options each app runs with: `ENV NODE_OPTIONS` in its Dockerfile, the environment of
 * `deploy.sh --local`, and the bench's Fast Ferry peers. tools/test/node-options.test.ts holds
 * the Dockerfiles to this table. A NODE_OPTIONS of the user's own (in the shell for --local,
 * `resources.<app>.nodeOptions` in blueprint.yaml for a pod) replaces the app's.
 *
 * The terminator's young generation is capped at 2 MiB semi-spaces (V8 grows it to 16 MiB under
 * sustained load otherwise). What it allocates per message (the parsed payload, the hook's
 * arguments) dies within the message, so a small young generation saves it 11–20 MiB of peak RSS
 * for about 5 points of a core more CPU (at most 19): 85–98 → 69–81 MiB in the bench's floods,
 * throughput unchanged (the sender is the bottleneck). The initiator keeps V8's default: its
 * outbox holds each message until the ack, and a 2 MiB young generation cost it a quarter of its
 * throughput. A terminator that streams back at full speed is such a sender too, and can be given
 * V8's default that way.
 */
export const NODE_OPTIONS = {
  initiator: '',
  terminator: '--max-semi-space-size=2',
} as const satisfies Record<'initiator' | 'terminator', string>;

export type AppName = keyof typeof NODE_OPTIONS;

/** The app's options as process arguments (for fork's execArgv). */
export function nodeArgs(app: AppName): string[] {
  return NODE_OPTIONS[app].split(' ').filter((arg) => arg !== '');
}
