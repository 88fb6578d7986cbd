/**
 * The cases of one payload and size, flood or paced, run in slices. This machine's vCPUs each
 * drop to as little as half speed for stretches of a fraction of a second to tens of seconds;
 * two cases run in their own processes one after the other are 6–7 s apart and often meet
 * different speeds, which is most of the spread of a ratio taken between them. So here every row's pair
 * of processes is started once and kept connected, and the pairs send in turns: a round gives
 * each row one window, right after the one before it, with only a short settle between (while
 * the paused pair's last messages drain). A round's ratios then compare windows about a second
 * apart. The first window of each pair follows a full warm-up; rows are reversed every other
 * round, as in the per-case order.
 *
 * The slow stretches fall on one vCPU at a time, and a pair kept alive keeps its processes where
 * the scheduler put them: unpinned, one row's receiver sat on a slow vCPU for 14 windows running
 * while the other row's was mostly on the fast one, and a run's latency ratio came out 0.75×
 * where runs with fresh processes gave 1.2×. So (`pin`) each window pins the pair's sender and
 * receiver to CPUs 0 and 1, and every round swaps them: in a round every row meets the same
 * placement, and over the rounds each side meets both vCPUs alike.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { notRun, Pair, type PairOptions } from './pair.js';
import type { CaseSpec, Row } from './protocol.js';
import type { CaseResult } from './report.js';

export interface SliceOptions {
  rounds: number;
  warmupMs: number;
  /** Between one pair's pause and the next pair's window: the paused pair drains meanwhile. */
  settleMs: number;
  windowMs: number;
  /** Pin each pair's sender and receiver to CPUs 0 and 1 in its windows, swapped every round. */
  pin: boolean;
  pair: Omit<PairOptions, 'sliced'>;
}

/**
 * `specs`: one case per row, all of the same payload, size and mode (their `round` is set here).
 * `onResult` sees each window's result as it comes, for the progress lines.
 */
export async function runInSlices(specs: CaseSpec[], opts: SliceOptions, onResult: (r: CaseResult) => void): Promise<CaseResult[]> {
  const pairs = new Map<Row, Pair>();
  /** Why a row has no pair: it did not start, or it failed in an earlier window. */
  const lost = new Map<Row, unknown>();
  const results: CaseResult[] = [];
  try {
    for (const spec of specs) {
      try {
        pairs.set(spec.row, await Pair.start(spec, { ...opts.pair, sliced: true }));
      } catch (err) {
        lost.set(spec.row, err);
      }
    }
    const warmed = new Set<Row>();
    for (let round = 1; round <= opts.rounds; round++) {
      for (const base of round % 2 === 0 ? [...specs].reverse() : specs) {
        const spec = { ...base, round };
        const pair = pairs.get(spec.row);
        let result: CaseResult;
        if (pair === undefined) {
          result = notRun(spec, lost.get(spec.row));
        } else {
          try {
            if (opts.pin) pair.pin(round % 2, 1 - (round % 2));
            pair.resume();
            await sleep(warmed.has(spec.row) ? opts.settleMs : opts.warmupMs);
            warmed.add(spec.row);
            result = { spec, status: 'ok', ...(await pair.measure(opts.windowMs)) };
            pair.pause();
          } catch (err) {
            result = notRun(spec, err);
            pairs.delete(spec.row);
            lost.set(spec.row, err);
            await pair.stop();
          }
        }
        results.push(result);
        onResult(result);
      }
    }
  } finally {
    await Promise.all([...pairs.values()].map((pair) => pair.stop()));
  }
  return results;
}
