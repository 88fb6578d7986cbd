/** The hot-path metric types must render exactly what prom-client's own would. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { BatchedCounter, FastHistogram } from '../src/metrics.js';

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
