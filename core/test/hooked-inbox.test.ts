/** The receive-hook wiring (HookedInboxes) over a real Inbox and a recording ack sink (no socket). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { HookedInboxes } from '../src/runtime/hooked-inbox.js';

test('an undecodable DATA payload is NACKed as FERRY_ERR_BAD_FRAME, never run, timed or counted as a hook error', async () => {
  const lines: string[] = [];
  const logger = createLogger({ format: 'json', level: 'debug', write: (line) => lines.push(line) });
  const metrics = createMetrics('terminator', { defaultMetrics: false });
  const seen: unknown[] = [];
  const inboxes = new HookedInboxes<{ id: string }>({
    name: 'on_receive_terminator',
    hook: (payload) => {
      seen.push(payload);
    },
    describeFor: () => (message) => ({ id: message.id }),
    setPaused: () => false,
    config: loadConfig({ env: {} }),
    metrics,
    logger,
  });
  const inbox = inboxes.create('0123456789abcdef');
  const nacks: Array<[number, string]> = [];
  let acked = 0;
  inbox.attach({ acknowledge: (seq) => (acked = Math.max(acked, seq)), reportFailure: (seq, reason) => nacks.push([seq, reason]) }, 1);
  const bad = Buffer.from('{not json');
  const good = Buffer.from('{"ok":1}');
  inbox.accept(1, 0, bad, 0, bad.length);
  inbox.accept(2, 0, good, 0, good.length);
  await new Promise((resolve) => setImmediate(resolve));

  assert.deepEqual(seen, [{ ok: 1 }], 'the hook ran for the good message only');
  assert.equal(nacks.length, 1);
  assert.equal(nacks[0]?.[0], 1);
  assert.match(nacks[0]?.[1] ?? '', /not valid UTF-8 JSON/, 'the sender is told why');
  const text = await metrics.registry.metrics();
  assert.match(text, /ferry_frames_rejected_total\{reason="FERRY_ERR_BAD_FRAME",role="terminator"\} 1\n/);
  assert.doesNotMatch(text, /ferry_hook_errors_total\{[^}]*\} [1-9]/, 'no hook error was counted');
  assert.match(text, /ferry_hook_duration_seconds_count\{[^}]*\} 1\n/, 'one hook run timed: the good message');
  assert.ok(lines.some((l) => l.includes('FERRY_ERR_BAD_FRAME') && l.includes('before on_receive_terminator')), lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('on_receive_terminator failed')), 'not logged as a hook failure');
});
