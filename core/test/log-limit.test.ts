/** RepeatedLog: a per-message log line is capped per window, and what it held back is summed up. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatedLog } from '../src/log-limit.js';
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
