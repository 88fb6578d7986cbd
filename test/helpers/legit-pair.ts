/**
 * The legitimate pair an adversarial suite runs alongside its attacks: the fixture terminator
 * and initiator on fresh ports with the auto-trigger off, a background trickle of POST /trigger
 * whose answers are recorded, and the checks that the legitimate session came through unharmed.
 */
import assert from 'node:assert/strict';
import { makeTestPki, type TestPki } from './pki.js';
import { freePort } from './ports.js';
import { get, post, startInitiator, startTerminator, type Proc } from './procs.js';

export interface LegitPairOptions {
  /** A bundle the caller prepared (e.g. wrote files into); made here if absent. Cleaned up by stop() either way. */
  pki?: TestPki;
  /** Extra FERRY_* settings for the terminator. */
  terminatorEnv?: Record<string, string>;
  /** Extra FERRY_* settings for the initiator (its auto-trigger is always off). */
  initiatorEnv?: Record<string, string>;
}

export interface TrickleAnswer {
  status: number;
  /** The initiator's /readyz status after the trigger, when the trickle was asked to read it. */
  ready?: number;
  at: number;
}

export interface TrickleOptions {
  /** The pause between one answered trigger and the next. */
  everyMs: number;
  /** Stop after this many triggers even if nobody asked (unbounded if absent). */
  max?: number;
  /** Read the initiator's /readyz after each trigger. */
  readyz?: boolean;
  /** Headers for each POST (e.g. a bearer token). */
  headers?: Record<string, string>;
  /** Called with each answer as it is recorded. */
  onAnswer?: (answer: TrickleAnswer) => void;
}

export interface Trickle {
  answers: TrickleAnswer[];
  /** Asks the trickle to stop and waits for its last request; rethrows what it failed with. */
  stop(): Promise<void>;
}

export interface LegitPair {
  pki: TestPki;
  terminator: Proc;
  initiator: Proc;
  sessionPort: number;
  /** The terminator's probes and /metrics port. */
  terminatorHttp: number;
  /** The initiator's probes and /metrics port. */
  initiatorHttp: number;
  /** The initiator's POST /trigger port. */
  initiatorTrigger: number;
  /** The background trickle, once startTrickle was called. */
  trickle: Trickle | null;
  startTrickle(options: TrickleOptions): Trickle;
  /** A trigger answers 200, and both processes are alive. */
  delivers(): Promise<void>;
  /**
   * Stops the trickle and checks the legitimate session came through: at least `minTriggers`
   * trickle triggers, every one answered 200 (and /readyz 200 where read), one session that
   * never dropped, both processes alive.
   */
  assertUnharmed(minTriggers: number): Promise<void>;
  /** Stops the trickle (ignoring its failure: a test has reported it), both processes and the bundle. */
  stop(): Promise<void>;
}

export async function startLegitPair(options: LegitPairOptions = {}): Promise<LegitPair> {
  const pki = options.pki ?? makeTestPki();
  const sessionPort = await freePort();
  const terminatorHttp = await freePort();
  const initiatorHttp = await freePort();
  const initiatorTrigger = await freePort();
  const terminator = startTerminator({ pki, httpPort: terminatorHttp, sessionPort, fixture: 'terminator.ts', env: options.terminatorEnv ?? {} });
  let initiator: Proc | null = null;
  try {
    await terminator.waitFor(/terminator up/);
    initiator = startInitiator({ pki, httpPort: initiatorHttp, triggerPort: initiatorTrigger, sessionPort, fixture: 'initiator.ts', env: { FERRY_AUTO_TRIGGER_COUNT: '0', ...options.initiatorEnv } });
    await initiator.waitFor(/session open/);
  } catch (err) {
    await initiator?.kill();
    await terminator.kill();
    pki.cleanup();
    throw err;
  }
  return legitPair(pki, terminator, initiator, { sessionPort, terminatorHttp, initiatorHttp, initiatorTrigger });
}

function legitPair(pki: TestPki, terminator: Proc, initiator: Proc, ports: { sessionPort: number; terminatorHttp: number; initiatorHttp: number; initiatorTrigger: number }): LegitPair {
  const { initiatorHttp, initiatorTrigger } = ports;
  let legitSent = 0;
  const pair: LegitPair = {
    pki,
    terminator,
    initiator,
    ...ports,
    trickle: null,
    startTrickle(trickleOptions) {
      const answers: TrickleAnswer[] = [];
      let stopping = false;
      const done = (async () => {
        for (let i = 0; i < (trickleOptions.max ?? Infinity) && !stopping; i += 1) {
          const { status } = await post(initiatorTrigger, '/trigger', { trickle: i }, false, trickleOptions.headers ?? {});
          const answer: TrickleAnswer = trickleOptions.readyz ? { status, ready: (await get(initiatorHttp, '/readyz')).status, at: Date.now() } : { status, at: Date.now() };
          trickleOptions.onAnswer?.(answer);
          answers.push(answer);
          await new Promise((r) => setTimeout(r, trickleOptions.everyMs));
        }
      })();
      pair.trickle = {
        answers,
        stop: async () => {
          stopping = true;
          await done;
        },
      };
      return pair.trickle;
    },
    async delivers() {
      legitSent += 1;
      const res = await post(initiatorTrigger, '/trigger', { legit: legitSent });
      assert.equal(res.status, 200, `the legitimate session still delivers (${JSON.stringify(res.body)})`);
      assert.equal(terminator.child.exitCode, null, 'the terminator is alive');
      assert.equal(initiator.child.exitCode, null, 'the initiator is alive');
    },
    async assertUnharmed(minTriggers) {
      assert.ok(pair.trickle, 'the suite started a trickle');
      await pair.trickle.stop();
      const { answers } = pair.trickle;
      assert.ok(answers.length >= minTriggers, `the trickle ran (${answers.length} triggers)`);
      assert.deepEqual(answers.filter((a) => a.status !== 200 || (a.ready !== undefined && a.ready !== 200)), [], 'every background trigger answered 200 (and /readyz 200 where read)');
      assert.equal(initiator.matching(/^session open/).length, 1, 'the legitimate session never dropped');
      assert.equal(initiator.matching(/session (ended|closed)/).length, 0);
      assert.equal(terminator.child.exitCode, null);
      assert.equal(initiator.child.exitCode, null);
    },
    async stop() {
      await pair.trickle?.stop().catch(() => {});
      await initiator.kill();
      await terminator.kill();
      pki.cleanup();
    },
  };
  return pair;
}
