/** A forked peer process, seen from the orchestrator: its messages as awaitable events. */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { roundsTag, type ChildMessage, type ParentMessage, type PeerArgs } from './protocol.js';

const PEER = fileURLToPath(new URL('./peer.js', import.meta.url));

export class Peer {
  readonly #proc: ChildProcess;
  readonly #inbox: ChildMessage[] = [];
  #waiter: (() => void) | undefined;
  #exited: string | undefined;
  #stderr = '';

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  /** `logDir`: keep the child's stdout and stderr there (e.g. with --node-arg=--trace-gc). */
  constructor(args: PeerArgs, execArgv: string[] = [], logDir?: string) {
    this.#proc = fork(PEER, [JSON.stringify(args)], { silent: true, execArgv });
    if (logDir) {
      const log = createWriteStream(join(logDir, `${args.row}-${args.payload}-${args.size}-${args.mode}-${roundsTag(args)}-${args.role}.log`));
      this.#proc.stdout?.pipe(log);
      this.#proc.stderr?.pipe(log);
    } else {
      this.#proc.stdout?.resume();
    }
    this.#proc.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-2000);
    });
    this.#proc.on('message', (msg: ChildMessage) => {
      this.#inbox.push(msg);
      this.#waiter?.();
    });
    this.#proc.on('exit', (code, signal) => {
      this.#exited = `exited (${signal ?? code})${this.#stderr ? `: ${this.#stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      this.#waiter?.();
    });
  }

  send(msg: ParentMessage): void {
    if (this.#proc.connected) this.#proc.send(msg);
  }

  /** The next message from the child, or an error if it exits or stays silent. */
  async next(timeoutMs: number): Promise<ChildMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const msg = this.#inbox.shift();
      if (msg) return msg;
      if (this.#exited) throw new Error(this.#exited);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  /** Asks the child to exit; kills it if it does not within a second. */
  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.#proc.once('exit', () => resolve()));
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 1000);
    await gone;
    clearTimeout(timer);
  }
}
