/**
 * One row's two peer processes for one payload and size, seen from the orchestrator: started,
 * measured over a window (the two `mark`s), paused and resumed between windows, stopped.
 * A case (run.ts) uses a pair for one window; a slice run (slices.ts) keeps several pairs
 * alive and measures them in turns.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Peer } from './child.js';
import { busyPercent, cpuTicks } from './machine.js';
import type { CaseSpec, PeerArgs, PeerStats } from './protocol.js';
import type { CaseResult } from './report.js';

/** The case cannot run on this build (Fast Ferry bytes before the core carries them): skipped, not failed. */
export class Unsupported extends Error {}

export interface PairOptions {
  /** Node flags for every peer (after the Fast Ferry images' own, so they win). */
  peerExecArgv: string[];
  peerLogDir: string | undefined;
  ferryConfig: Record<string, string>;
  traceDir: string | undefined;
  /** A slice run's pair: the sender connects and waits for `resume` instead of sending at once. */
  sliced: boolean;
  /** Node flags of the Fast Ferry images, by role (tools/src/node-options.ts). */
  ferryNodeArgs: { sender: string[]; receiver: string[] };
}

async function expect<T extends string>(peer: Peer, type: T, timeoutMs: number) {
  const msg = await peer.next(timeoutMs);
  if (msg.type === type) return msg;
  if (msg.type === 'error') throw new Error(msg.message.split('\n')[0]);
  if (msg.type === 'unsupported') throw new Unsupported(msg.reason);
  throw new Error(`expected '${type}', got '${msg.type}'`);
}

/** What one window measured, before it is tied to a spec. */
export type Measured = Pick<CaseResult, 'sender' | 'receiver' | 'foreignCpu'>;

export class Pair {
  private constructor(
    private readonly receiver: Peer,
    private readonly sender: Peer,
  ) {}

  /** Both peers up and connected; a Fast Ferry bytes case has also carried its probe. */
  static async start(spec: CaseSpec, opts: PairOptions): Promise<Pair> {
    const ferry = spec.row.startsWith('ferry-');
    const common = {
      ...spec,
      sliced: opts.sliced,
      ferryConfig: opts.ferryConfig,
      ...(opts.traceDir !== undefined ? { traceDir: opts.traceDir } : {}),
    };
    const receiverArgs: PeerArgs = { ...common, role: 'receiver', port: 0 };
    const receiver = new Peer(receiverArgs, [...(ferry ? opts.ferryNodeArgs.receiver : []), ...opts.peerExecArgv], opts.peerLogDir);
    let sender: Peer | undefined;
    try {
      const ready = await expect(receiver, 'ready', 20_000);
      const senderArgs: PeerArgs = { ...common, role: 'sender', port: (ready as { port: number }).port };
      sender = new Peer(senderArgs, [...(ferry ? opts.ferryNodeArgs.sender : []), ...opts.peerExecArgv], opts.peerLogDir);
      await expect(sender, 'ready', 20_000);
      // The sender wrote a probe Buffer first; its receiver says whether it arrived as bytes.
      if (spec.payload === 'bytes' && ferry) await expect(receiver, 'probed', 10_000);
      return new Pair(receiver, sender);
    } catch (err) {
      await Promise.all([sender?.stop(), receiver.stop()]);
      throw err;
    }
  }

  /** The peers' process ids (their main threads' too). */
  get pids(): { sender: number | undefined; receiver: number | undefined } {
    return { sender: this.sender.pid, receiver: this.receiver.pid };
  }

  /**
   * Pins the sender's main thread to one CPU and the receiver's to another (taskset; V8's and
   * libuv's helper threads still float). A slice run swaps the two every round (slices.ts).
   */
  pin(senderCpu: number, receiverCpu: number): void {
    for (const [peer, cpu] of [[this.sender, senderCpu], [this.receiver, receiverCpu]] as const) {
      if (peer.pid === undefined) continue;
      try {
        execFileSync('taskset', ['-p', '-c', String(cpu), String(peer.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (err) {
        const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
        throw new Error(`could not pin a peer to CPU ${cpu} with taskset (util-linux): ${why}; install it, or run with --no-pin`);
      }
    }
  }

  pause(): void {
    this.sender.send({ type: 'pause' });
  }

  resume(): void {
    this.sender.send({ type: 'resume' });
  }

  /** Both peers' figures over `windowMs` from now, and what the rest of the machine used meanwhile. */
  async measure(windowMs: number): Promise<Measured> {
    const before = cpuTicks();
    this.receiver.send({ type: 'mark' });
    this.sender.send({ type: 'mark' });
    await sleep(windowMs);
    this.receiver.send({ type: 'mark' });
    this.sender.send({ type: 'mark' });
    const after = cpuTicks();
    const r = (await expect(this.receiver, 'stats', 20_000)) as { stats: PeerStats };
    const s = (await expect(this.sender, 'stats', 20_000)) as { stats: PeerStats };
    const busy = busyPercent(before, after, availableParallelism());
    const ours = r.stats.cpuPercent + s.stats.cpuPercent;
    return { receiver: r.stats, sender: s.stats, ...(busy !== undefined ? { foreignCpu: Math.max(0, busy - ours) } : {}) };
  }

  async stop(): Promise<void> {
    await Promise.all([this.sender.stop(), this.receiver.stop()]);
  }
}

/** A case that did not run, as the report shows it. */
export function notRun(spec: CaseSpec, err: unknown): CaseResult {
  if (err instanceof Unsupported) return { spec, status: 'unsupported', reason: err.message };
  return { spec, status: 'failed', reason: (err as Error).message };
}
