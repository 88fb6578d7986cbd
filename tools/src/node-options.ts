import { spawnSync } from 'node:child_process';

/**
 * The Node options each app runs with: `ENV NODE_OPTIONS` in the app's stage of the Dockerfile,
 * the environment of `deploy.sh --local`, and the bench's Fast Ferry peers.
 * tools/test/node-options.test.ts holds the Dockerfile to this table. A NODE_OPTIONS of the user's own (in the shell for --local,
 * `resources.<app>.nodeOptions` in blueprint.yaml for a pod) replaces the app's.
 *
 * Both pin V8's young generation, because its default follows the memory the process sees: 1 MiB
 * semi-spaces in a pod with the chart's 256Mi limit, up to 16 MiB on an unlimited host. Pinned,
 * a pod, a local run and the bench behave alike. Measured in the bench's floods (1 KiB and
 * 16 KiB, tls and tunnel, interleaved rounds):
 *  - terminator, 8 MiB: a structured message (16 KiB of JSON parses into some 330 objects) lives
 *    from its batch's arrival until its hook has run, so small semi-spaces copy it over and over.
 *    Structured 16 KiB flood, tls: scavenges took 355 ms of the receiver's 4.4 s at 2 MiB,
 *    114–135 ms at 8 MiB (plain ws at V8's 16 MiB: 118 ms); receiver CPU per message against
 *    plain ws 1.10–1.12× at 2 MiB, 0.98–1.01× at 8, 1.03–1.12× at 16; peak RSS 76–80 MiB at
 *    2 MiB, 89 at 8, 89–93 at 16. Flat messages die within the message: there 2 MiB had
 *    measured 75–79 MiB against 85–98 at 16 MiB, for about 5 points of a core more.
 *  - initiator, 16 MiB: its outbox holds each message until the ack. At 1 KiB (tls) it sent
 *    183–217k msgs/s, against 150–187k at 8 MiB and 163–166k at 4 MiB (and 26 % less at 2 MiB),
 *    for a peak RSS of up to 199 MiB (16 KiB, tunnel) under the 256Mi limit, with the 16 MiB
 *    outbox window of then (152–164 MiB with today's 8 MiB, core/src/config/schema.ts).
 *    Measured again once outbox entries were reused (core/src/session/outbox.ts), so that they no
 *    longer pass through the young generation: at 8 MiB the JSON floods peaked at 95–113 MiB
 *    against 112–122 at 16 (new space 16 vs 32 MiB), the bytes floods at 128–136 either way,
 *    sender CPU per message within noise (structured 1–5 % more at 8). Kept at 16: the worst
 *    case, bytes at 16 KiB, does not move.
 * Both also start V8's old-generation limit at 64 MiB (NODE_FLAGS: `--initial-old-space-size`,
 * which Node refuses in NODE_OPTIONS, so it is a command-line flag of the image's CMD, of
 * `deploy.sh --local`, of the tests' app processes and of the bench's peers). The apps'
 * old generation is small (about 9 MiB), while the batches they send and receive are Buffers
 * outside the heap, tens of MiB of them under load; with the default starting limit V8 ran a
 * full mark-compact every 40–90 ms on both sides of a 16 KiB flood (about 120 in 7 s, with four
 * helper threads marking at ~9 % of a core each), none with 64 MiB (at 32 MiB as many as without).
 * Measured in the bench's floods, alternating runs: 16 KiB bytes 27–31k → 55–56k msgs/s (sender
 * 25–29 → 14–15 µs/msg, receiver 32–37 → 17–18); 1 KiB within noise. Plain ws in the bench has
 * an old generation under V8's 8 MiB threshold for incremental marking, so it never ran one.
 * Still needed with outbox entries reused: without it the bytes floods ran 43–110 mark-compacts
 * a case (external memory) and 16 KiB bytes halved (22k vs 43k msgs/s); JSON floods ran one.
 * The cost: the old generation may hold up to 64 MiB before its first full collection.
 * A terminator that streams back at full speed is a sender too: give it the initiator's options.
 */
export const NODE_OPTIONS = {
  initiator: '--max-semi-space-size=16',
  terminator: '--max-semi-space-size=8',
} as const satisfies Record<'initiator' | 'terminator', string>;

/**
 * V8 flags both apps start with on the command line, before the app's script (Node allows only
 * some V8 flags in NODE_OPTIONS). A user's NODE_OPTIONS does not replace them.
 */
export const NODE_FLAGS = ['--initial-old-space-size=64'] as const;

export type AppName = keyof typeof NODE_OPTIONS;

/** The app's flags and options as process arguments (for fork's execArgv). */
export function nodeArgs(app: AppName): string[] {
  return [...NODE_FLAGS, ...NODE_OPTIONS[app].split(' ').filter((arg) => arg !== '')];
}

/**
 * Why this Node refuses to start with `options` as NODE_OPTIONS (the first line it said), or
 * undefined when it starts: Node allows only some flags there, and a bad value stops a pod at start.
 */
export function nodeOptionsRefusal(options: string): string | undefined {
  const run = spawnSync(process.execPath, ['-e', ''], { env: { PATH: process.env['PATH'] ?? '', NODE_OPTIONS: options }, encoding: 'utf8', timeout: 10_000 });
  if (run.status === 0) return undefined;
  return (run.stderr || run.error?.message || `exit ${run.status}`).trim().split('\n')[0];
}
