import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FerryError } from '../src/errors.js';
import { Inbox } from '../src/session/inbox.js';
import { Outbox } from '../src/session/outbox.js';
import { MAX_REMEMBERED_STREAMS, StreamRegistry } from '../src/runtime/stream-registry.js';

const quiet = { hookFailed() {}, duplicate() {}, pressure() {} };

function registry(): StreamRegistry {
  return new StreamRegistry((streamId) => ({ inbox: new Inbox(streamId, () => undefined, quiet, 16), outbox: new Outbox(16) }));
}

test('a stream that says HELLO again gets the same streams back', () => {
  const r = registry();
  const first = r.streamsFor('a');
  assert.equal(r.streamsFor('a'), first);
  assert.equal(first.inbox.streamId, 'a');
});

test('past the limit the oldest stream is forgotten and its unsent replies are refused by name', async () => {
  const r = registry();
  const oldest = r.streamsFor('oldest');
  const refused = new Promise<Error | null>((resolve) => oldest.outbox.push('{"reply":1}', (err) => resolve(err)));
  for (let i = 1; i < MAX_REMEMBERED_STREAMS; i += 1) r.streamsFor(`s${i}`);
  assert.equal(r.streams('oldest'), oldest, 'still remembered at the limit');
  r.streamsFor('one-more');
  assert.equal(r.streams('oldest'), undefined);
  const err = await refused;
  assert.ok(err instanceof FerryError && err.code === 'FERRY_ERR_SESSION_CLOSED', `refused with FERRY_ERR_SESSION_CLOSED, got ${String(err)}`);
  assert.match(err.message, /initiator stream oldest forgotten/);
});

test('saying HELLO again makes a stream the youngest: the next oldest is forgotten instead', () => {
  const r = registry();
  r.streamsFor('a');
  r.streamsFor('b');
  for (let i = 2; i < MAX_REMEMBERED_STREAMS; i += 1) r.streamsFor(`s${i}`);
  r.streamsFor('a');
  r.streamsFor('one-more');
  assert.notEqual(r.streams('a'), undefined);
  assert.equal(r.streams('b'), undefined);
});
