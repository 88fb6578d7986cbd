/** The hot-path metric types render exactly what prom-client's own would; the runtime's metrics answer an operator's questions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { BatchedCounter, FastHistogram, createMetrics, trackOutboxes } from '../src/metrics.js';
import { Outbox } from '../src/session/outbox.js';
import { closeReason } from '../src/session/session.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const SAMPLES = [0.0005, 0.001, 0.002, 0.05, 0.5, 3, 0.01];

test('FastHistogram renders the same /metrics text as a prom-client Histogram', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new FastHistogram({ name: 'h_seconds', help: 'h', buckets: BUCKETS, labelNames: ['hook'] as const, registers: [ours] });
  const reference = new Histogram({ name: 'h_seconds', help: 'h', buckets: BUCKETS, labelNames: ['hook'] as const, registers: [theirs] });
  for (const v of SAMPLES) {
    fast.observe({ hook: 'a' }, v);
    reference.observe({ hook: 'a' }, v);
  }
  fast.labels({ hook: 'b' }).observe(0.2);
  reference.labels({ hook: 'b' }).observe(0.2);
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('an unlabelled FastHistogram renders like prom-client before and after observations', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new FastHistogram({ name: 'l_seconds', help: 'l', buckets: BUCKETS, registers: [ours] });
  const reference = new Histogram({ name: 'l_seconds', help: 'l', buckets: BUCKETS, registers: [theirs] });
  assert.equal(await ours.metrics(), await theirs.metrics());
  fast.observe(0.05);
  reference.observe(0.05);
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('BatchedCounter shows every increment at scrape time, like a Counter', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const batched = new BatchedCounter({ name: 'c_total', help: 'c', registers: [ours] });
  const reference = new Counter({ name: 'c_total', help: 'c', registers: [theirs] });
  for (let i = 0; i < 1000; i += 1) {
    batched.inc();
    reference.inc();
  }
  batched.inc(5);
  reference.inc(5);
  assert.equal(await ours.metrics(), await theirs.metrics());
  batched.inc();
  reference.inc();
  assert.equal(await ours.metrics(), await theirs.metrics(), 'increments after a scrape are not lost');
});

test('every labelled counter is exported at 0 for its known reasons before its first event, per role', async () => {
  const initiator = await createMetrics('initiator', { defaultMetrics: false }).registry.metrics();
  const terminator = await createMetrics('terminator', { defaultMetrics: false }).registry.metrics();
  for (const [text, role] of [[initiator, 'initiator'], [terminator, 'terminator']] as const) {
    for (const name of ['ferry_sessions_closed_total', 'ferry_frames_rejected_total', 'ferry_messages_refused_total', 'ferry_messages_failed_total', 'ferry_handshake_failures_total', 'ferry_hook_errors_total']) {
      assert.match(text, new RegExp(`^${name}\\{[^}]*role="${role}"[^}]*\\} 0$`, 'm'), `${role}: ${name}`);
    }
    assert.match(text, new RegExp(`^ferry_sessions_closed_total\\{reason="FERRY_ERR_PEER_GONE",role="${role}"\\} 0$`, 'm'));
    assert.match(text, new RegExp(`^ferry_sessions_closed_total\\{reason="FERRY_ERR_SEQUENCE",role="${role}"\\} 0$`, 'm'));
    assert.match(text, new RegExp(`^ferry_messages_failed_total\\{reason="FERRY_ERR_REMOTE_HOOK",role="${role}"\\} 0$`, 'm'));
    assert.doesNotMatch(text, /reason="FERRY_ERR_(CONFIG|BLUEPRINT|VERIFY|NOT_FOUND)"/, 'only codes that can occur for each counter');
  }
  assert.match(initiator, /^ferry_dial_failures_total\{reason="ECONNREFUSED",role="initiator"\} 0$/m);
  assert.match(initiator, /^ferry_hook_errors_total\{hook="on_trigger",reason="FERRY_ERR_HOOK_RESULT",role="initiator"\} 0$/m);
  assert.match(initiator, /^ferry_hook_duration_seconds_count\{hook="on_receive_initiator",role="initiator"\} 0$/m);
  assert.doesNotMatch(initiator, /on_receive_terminator/);
  assert.match(terminator, /^ferry_hook_errors_total\{hook="on_receive_terminator",reason="FERRY_ERR_HOOK_TIMEOUT",role="terminator"\} 0$/m);
  assert.doesNotMatch(terminator, /ferry_dial_failures_total\{/, 'the terminator does not dial');
  assert.doesNotMatch(terminator, /hook="on_receive_terminator",reason="FERRY_ERR_HOOK_RESULT"/, 'only on_trigger has a result to check');
});

test('ferry_outbox_depth and ferry_outbox_oldest_age_seconds read every tracked outbox at scrape time; the age is 0 when none waits', async () => {
  const metrics = createMetrics('terminator', { defaultMetrics: false });
  const a = new Outbox(10);
  const b = new Outbox(10);
  trackOutboxes(metrics, () => [a, b]);
  const gauge = async (name: string): Promise<number> => Number(new RegExp(`^${name}\\{role="terminator"\\} (\\S+)$`, 'm').exec(await metrics.registry.metrics())?.[1]);
  assert.equal(await gauge('ferry_outbox_oldest_age_seconds'), 0);
  // 200 ms between the two messages, so a stall of a few tens of ms in the scrapes below
  // cannot make the younger one look as old as the older.
  b.push('{"n":1}');
  await new Promise((r) => setTimeout(r, 200));
  a.push('{"n":2}');
  assert.equal(await gauge('ferry_outbox_depth'), 2);
  const age = await gauge('ferry_outbox_oldest_age_seconds');
  assert.ok(age >= 0.19 && age < 5, `the oldest message (in b) is about 200 ms old, got ${age}`);
  b.ack(1, () => {});
  assert.ok((await gauge('ferry_outbox_oldest_age_seconds')) < 0.19, 'acknowledged: the age is now that of the message in a');
  a.ack(1, () => {});
  assert.equal(await gauge('ferry_outbox_oldest_age_seconds'), 0);
});

test('the delivery latency buckets start at 50 µs; process metrics carry prom-client default names', async () => {
  const metrics = createMetrics('initiator');
  metrics.deliveryLatency.observe(0.00004);
  const text = await metrics.registry.metrics();
  assert.match(text, /^ferry_delivery_latency_seconds_bucket\{le="0\.00005",role="initiator"\} 1$/m);
  assert.match(text, /^process_cpu_seconds_total\{role="initiator"\} /m);
  assert.match(text, /^nodejs_heap_size_used_bytes\{role="initiator"\} /m);
  assert.doesNotMatch(text, /ferry_process_|ferry_messages_acked_total/);
});

test('a session closed without an error of its own is counted under a FERRY_ERR_* code, never a close code', () => {
  assert.equal(closeReason(1002, 'FERRY_ERR_SEQUENCE'), 'FERRY_ERR_SEQUENCE', "a Fast Ferry peer's code, from the close reason");
  assert.equal(closeReason(1006, ''), 'FERRY_ERR_PEER_GONE');
  assert.equal(closeReason(4002, ''), 'FERRY_ERR_PEER_DEAD');
  assert.equal(closeReason(1001, 'SIGTERM'), 'FERRY_ERR_SESSION_CLOSED');
  assert.equal(closeReason(1000, 'closed by peer'), 'FERRY_ERR_SESSION_CLOSED');
});
