import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, judgeSession } from '../src/session/backoff.js';

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

test('delay() draws under the current ceiling without counting a failure', () => {
  const b = new Backoff({ ...policy, intervalMs: 100 }, () => 0.999999);
  assert.equal(b.delay(), 99);
  assert.equal(b.failures, 0);
  b.fail();
  b.fail();
  assert.equal(b.delay(), 199);
  assert.equal(b.failures, 2);
});

test('a session is healthy once it carried new acks or stayed open one ping interval', () => {
  const ping = 30_000;
  const base = { openMs: 5, newlyAcked: 0, closeCode: 1002, failed: false };
  assert.equal(judgeSession({ ...base, newlyAcked: 1 }, ping), 'healthy', 'an ack for new data');
  assert.equal(judgeSession({ ...base, openMs: ping }, ping), 'healthy', 'open for one ping interval');
  assert.equal(judgeSession({ ...base, openMs: ping, failed: true }, ping), 'healthy', 'however it ended afterwards');
});

test('a short session without new acks that ended by an error is a failed attempt; without an error it is clean', () => {
  const ping = 30_000;
  const base = { openMs: 5, newlyAcked: 0, closeCode: 1002, failed: false };
  assert.equal(judgeSession(base, ping), 'failed', 'refused by the peer right after open (1002 FERRY_ERR_SEQUENCE)');
  assert.equal(judgeSession({ ...base, closeCode: 4001 }, ping), 'failed', 'an armor failure');
  assert.equal(judgeSession({ ...base, closeCode: 1011 }, ping), 'failed', 'the peer reported an internal error');
  assert.equal(judgeSession({ ...base, closeCode: 1002, failed: true }, ping), 'failed', 'a local protocol error');
  assert.equal(judgeSession({ ...base, closeCode: 1006, failed: true }, ping), 'failed', 'a local error (a dead peer) is never clean');
  assert.equal(judgeSession({ ...base, closeCode: 1006 }, ping), 'clean', 'the connection dropped (the terminator was killed)');
  assert.equal(judgeSession({ ...base, closeCode: 1001 }, ping), 'clean', 'the peer drains');
  assert.equal(judgeSession({ ...base, closeCode: 1000 }, ping), 'clean', 'replaced by a newer connection');
  assert.equal(judgeSession({ ...base, closeCode: 1005 }, ping), 'clean', 'closed without a status');
});

test('the policy bounds a peer that refuses every session: the ceiling grows and maxRetries opens the circuit', () => {
  const b = new Backoff({ intervalMs: 100, growth: 2, maxDelayMs: 5_000, maxRetries: 6 }, () => 0.999999);
  const delays: number[] = [];
  for (let attempt = 1; !b.exhausted; attempt += 1) {
    assert.equal(judgeSession({ openMs: 3, newlyAcked: 0, closeCode: 1002, failed: false }, 30_000), 'failed');
    delays.push(b.fail());
    assert.ok(attempt <= 6);
  }
  assert.deepEqual(delays, [99, 199, 399, 799, 1599, 3199]);
  assert.equal(b.failures, 6);
});
