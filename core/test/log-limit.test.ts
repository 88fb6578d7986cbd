/** RepeatedLog: a per-message log line is capped per window, and what it held back is summed up. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatedLog, StreakLog } from '../src/log-limit.js';
import { WarnLines } from '../../test/helpers/warn-lines.js';

test('logs the first lines of a window, then one summary with the count it held back, then lines again', async () => {
  const log = new WarnLines();
  const limited = new RepeatedLog('hook failures', 3, 100);
  for (let i = 1; i <= 10; i += 1) limited.warn(log, `failure ${i}`, { i });
  assert.deepEqual(log.warned.map(([msg]) => msg), ['failure 1', 'failure 2', 'failure 3']);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(log.warned.length, 4);
  assert.match(log.warned[3]?.[0] ?? '', /^7 more hook failures were not logged \(at most 3 lines per 0.1 s; the metrics count every one\)$/);
  assert.deepEqual(log.warned[3]?.[1], { suppressed: 7 });
  limited.warn(log, 'failure 11');
  assert.equal(log.warned.at(-1)?.[0], 'failure 11', 'a new window logs again');
});

test('writes no summary when nothing was held back', async () => {
  const log = new WarnLines();
  const limited = new RepeatedLog('hook failures', 3, 50);
  limited.warn(log, 'only one');
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.deepEqual(log.warned.map(([msg]) => msg), ['only one']);
});

test('StreakLog: the first failure of a streak is logged, repeats are counted, one summary when the streak ends', () => {
  const log = new WarnLines();
  let now = Date.parse('2026-01-01T03:01:02Z');
  const streak = new StreakLog(60_000, () => now);
  for (let i = 1; i <= 12; i += 1) {
    streak.record(log, `session ended: expected seq 6, got ${8 + i}`, `first ${i}`, { attempt: i });
    now += 1_000;
  }
  assert.deepEqual(log.warned.map(([msg]) => msg), ['first 1'], 'numbers in the cause do not start a new streak');
  assert.equal(streak.count, 12);
  streak.end(log);
  assert.equal(log.warned.length, 2);
  assert.equal(log.warned[1]?.[0], 'session ended: expected seq 6, got 20 (×12 since 03:01:02)');
  assert.deepEqual(log.warned[1]?.[1], { attempt: 12, count: 12 });
  streak.end(log);
  assert.equal(log.warned.length, 2, 'ending twice writes nothing more');
});

test('StreakLog: another cause ends the streak; a lone failure gets no summary; a long streak is summed up every window', () => {
  const log = new WarnLines();
  let now = 0;
  const streak = new StreakLog(10_000, () => now);
  streak.record(log, 'dial failed: ECONNREFUSED', 'refused');
  streak.record(log, 'session ended: FERRY_ERR_SEQUENCE', 'sequence');
  assert.deepEqual(log.warned.map(([msg]) => msg), ['refused', 'sequence'], 'a lone failure is not summed up');
  for (let i = 0; i < 30; i += 1) {
    now += 1_000;
    streak.record(log, 'session ended: FERRY_ERR_SEQUENCE', 'sequence');
  }
  const summaries = log.warned.slice(2).map(([msg]) => msg);
  assert.deepEqual(summaries, ['session ended: FERRY_ERR_SEQUENCE (×11 since 00:00:00)', 'session ended: FERRY_ERR_SEQUENCE (×21 since 00:00:00)', 'session ended: FERRY_ERR_SEQUENCE (×31 since 00:00:00)']);
});
