/**
 * The JetStream sink's failures, each a JetStreamSinkError whose code and message name the cause
 * and the fix: NATS unreachable (never up, or lost), a stream that would break the guarantee,
 * settings that cannot work. The sink is called directly here; jetstream-sink.test.ts shows the
 * same error reaching the initiator's caller through the apps.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, nanos, StorageType } from 'nats';
import {
  captures,
  createJetStreamSink,
  JetStreamSinkError,
  SINK_DEFAULTS,
  sinkSettingsFromEnv,
  type SinkSettings,
} from '../../examples/jetstream-sink/jetstream-sink.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';

const message = { id: 'abc-1', seq: 1, streamId: 'abc' };
const quiet = (): void => {};

function isSinkError(code: string, pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof JetStreamSinkError, `a JetStreamSinkError, got ${String(err)}`);
    assert.equal(err.name, 'JetStreamSinkError');
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

test('NATS unreachable: publish rejects with SINK_ERR_NATS_UNREACHABLE naming the URL and the fix', async () => {
  const url = `nats://127.0.0.1:${await freePort()}`;
  const sink = createJetStreamSink({ ...SINK_DEFAULTS, servers: [url], publishTimeoutMs: 1_000 }, quiet);
  try {
    await assert.rejects(sink.publish({ n: 1 }, message), isSinkError('SINK_ERR_NATS_UNREACHABLE', /^\[SINK_ERR_NATS_UNREACHABLE\] cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ \(.+\): start NATS with JetStream \(nats-server -js\) or point NATS_URL at it$/));
    // The next message tries again (and fails the same way while NATS stays away).
    await assert.rejects(sink.publish({ n: 2 }, { ...message, id: 'abc-2', seq: 2 }), isSinkError('SINK_ERR_NATS_UNREACHABLE', /cannot reach NATS/));
  } finally {
    await sink.close();
  }
});

test('settings from the environment: defaults, and every bad value refused by its variable name', () => {
  assert.deepEqual(sinkSettingsFromEnv({}), SINK_DEFAULTS);
  assert.deepEqual(sinkSettingsFromEnv({ NATS_URL: 'nats://a:4222, nats://b:4222', NATS_STREAM_REPLICAS: '3' }).servers, ['nats://a:4222', 'nats://b:4222']);
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ NATS_URL: 'http://nats:8222' }, /NATS_URL: "http:\/\/nats:8222" is not a NATS server URL/],
    [{ NATS_STREAM: 'my.stream' }, /NATS_STREAM="my.stream" is not a valid stream name/],
    [{ NATS_SUBJECT: 'ferry.*' }, /NATS_SUBJECT="ferry.\*" must be a literal subject/],
    [{ NATS_DUPLICATE_WINDOW_MS: '10m' }, /NATS_DUPLICATE_WINDOW_MS="10m" must be a whole number from 1000/],
    [{ NATS_STREAM_REPLICAS: '7' }, /NATS_STREAM_REPLICAS="7" must be a whole number from 1 to 5/],
    [{ NATS_PUBLISH_TIMEOUT_MS: '-1' }, /NATS_PUBLISH_TIMEOUT_MS="-1"/],
  ];
  for (const [env, pattern] of bad) assert.throws(() => sinkSettingsFromEnv(env), isSinkError('SINK_ERR_CONFIG', pattern));
});

test('stream subject patterns: * is one token, > the rest', () => {
  assert.ok(captures('ferry.messages', 'ferry.messages'));
  assert.ok(captures('ferry.*', 'ferry.messages'));
  assert.ok(captures('ferry.>', 'ferry.messages.a'));
  assert.ok(!captures('ferry.*', 'ferry.messages.a'));
  assert.ok(!captures('ferry.messages', 'ferry'));
  assert.ok(!captures('other.>', 'ferry.messages'));
});

describe('against a real nats-server', { skip: natsSkipReason() ?? false }, () => {
  let dir: string;
  let nats: NatsServer;
  let settings: SinkSettings;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-sink-'));
    nats = await startNatsServer(dir, await freePort());
    settings = { ...SINK_DEFAULTS, servers: [nats.url], publishTimeoutMs: 2_000 };
    const nc = await connect({ servers: nats.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'SHORT', subjects: ['short'], storage: StorageType.File, duplicate_window: nanos(30_000) });
    await jsm.streams.add({ name: 'OTHER', subjects: ['other.>'], storage: StorageType.File, duplicate_window: nanos(SINK_DEFAULTS.duplicateWindowMs) });
    await nc.close();
  });
  after(async () => {
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an existing stream with a shorter duplicate window is refused, with the command that fixes it', async () => {
    const sink = createJetStreamSink({ ...settings, stream: 'SHORT', subject: 'short' }, quiet);
    await assert.rejects(sink.publish({}, message), isSinkError('SINK_ERR_STREAM', /stream SHORT remembers message ids for 30000 ms, less than NATS_DUPLICATE_WINDOW_MS=600000.*nats stream edit SHORT --dupe-window=600s/));
    await sink.close();
  });

  test('an existing stream that does not capture the subject is refused by name', async () => {
    const sink = createJetStreamSink({ ...settings, stream: 'OTHER', subject: 'ferry.messages' }, quiet);
    await assert.rejects(sink.publish({}, message), isSinkError('SINK_ERR_STREAM', /stream OTHER does not capture subject ferry\.messages \(its subjects: other\.>\)/));
    await sink.close();
  });

  test('a repeated id is stored once: the second PubAck says duplicate', async () => {
    const sink = createJetStreamSink({ ...settings, stream: 'ONCE', subject: 'once' }, quiet);
    try {
      const first = await sink.publish({ n: 1 }, message);
      const again = await sink.publish({ n: 1 }, message);
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true);
      assert.equal(again.seq, first.seq);
    } finally {
      await sink.close();
    }
  });

  test('NATS lost after connecting: publish fails at once with SINK_ERR_NATS_UNREACHABLE while it is away', async () => {
    const lines: string[] = [];
    const sink = createJetStreamSink({ ...settings, stream: 'LOST', subject: 'lost' }, (l) => lines.push(l));
    try {
      await sink.publish({ n: 1 }, message);
      await nats.stop();
      // The client notices the closed socket and reports it; then publishes are refused.
      await waitForLine(lines, /lost NATS/);
      await assert.rejects(sink.publish({ n: 2 }, { ...message, id: 'abc-2', seq: 2 }), isSinkError('SINK_ERR_NATS_UNREACHABLE', /disconnected, reconnecting/));
    } finally {
      await sink.close();
    }
  });
});

async function waitForLine(lines: string[], pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((l) => pattern.test(l))) {
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern}; lines:\n  ${lines.join('\n  ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
