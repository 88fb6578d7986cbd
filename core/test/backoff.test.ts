import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../src/session/backoff.js';

const policy = { intervalMs: 500, growth: 2, maxDelayMs: 30_000, maxRetries: 0 };

test('the delay ceiling starts at the interval and grows by the growth factor', () => {
  const b = new Backoff(policy, () => 0.999999);
  const delays = Array.from({ length: 5 }, () => b.fail());
  assert.deepEqual(delays, [499, 999, 1999, 3999, 7999]);
});

test('the ceiling stops growing at maxDelayMs', () => {
  const b = new Backoff(policy, () => 0.999999);
  for (let i = 0; i < 20; i += 1) b.fail();
  assert.equal(b.ceilingMs(), 30_000);
  assert.ok(b.fail() <= 30_000);
});

test('full jitter: a delay is uniformly between zero and the ceiling', () => {
  const b = new Backoff(policy, () => 0);
  assert.equal(b.fail(), 0);
  const spread = new Backoff({ ...policy, intervalMs: 1000 });
  const samples = Array.from({ length: 200 }, () => {
    spread.succeed();
    return spread.fail();
  });
  assert.ok(samples.every((d) => d >= 0 && d < 1000));
  assert.ok(new Set(samples).size > 50, 'delays differ from one another');
});

test('success resets the ceiling', () => {
  const b = new Backoff(policy, () => 0.5);
  b.fail();
  b.fail();
  b.fail();
  b.succeed();
  assert.equal(b.failures, 0);
  assert.equal(b.fail(), 250);
});

test('maxRetries 0 never gives up; a limit opens the circuit when reached', () => {
  const forever = new Backoff(policy);
  for (let i = 0; i < 1000; i += 1) forever.fail();
  assert.equal(forever.exhausted, false);
  const limited = new Backoff({ ...policy, maxRetries: 3 });
  limited.fail();
  limited.fail();
  assert.equal(limited.exhausted, false);
  limited.fail();
  assert.equal(limited.exhausted, true);
});
