import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FerryError } from '../src/errors.js';
import { FLAG_BYTES, FLAG_REDELIVERED, FrameType, MAX_SEQ } from '../src/wire/constants.js';
import { decodeFrames, type FrameVisitor } from '../src/wire/decoder.js';
import { Slab, SlabCarver, SlabPool } from '../src/wire/slab.js';
import { FrameWriter, dataPayload, dataPayloadLength, encodeControl } from '../src/wire/encoder.js';

type Seen = Array<[string, ...unknown[]]>;

function collect(buf: Buffer): Seen {
  const seen: Seen = [];
  const visitor: FrameVisitor = {
    control: (type, body) => seen.push(['control', type, body]),
    data: (seq, flags, buf, start, end) => seen.push(['data', seq, flags, buf.toString('utf8', start, end)]),
    ack: (seq) => seen.push(['ack', seq]),
    nack: (seq, reason) => seen.push(['nack', seq, reason]),
  };
  decodeFrames(buf, visitor);
  return seen;
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FerryError, `expected a FerryError, got ${String(err)}`);
    return `${err.code}: ${err.message}`;
  }
  return 'no error';
}

describe('frame encoding', () => {
  test('writes a DATA frame as type, flags, 48-bit seq, 32-bit length, payload', () => {
    const w = new FrameWriter();
    w.data(0x0102030405, FLAG_REDELIVERED, Buffer.from('{"a":1}'));
    assert.equal(w.take().toString('hex'), `10 01 000102030405 00000007 ${Buffer.from('{"a":1}').toString('hex')}`.replace(/\s/g, ''));
  });

  test('writes the seq in all 48 bits and the length in all 32, as the decoder reads them back', () => {
    const w = new FrameWriter();
    const payload = Buffer.alloc(0x010203, 0x61);
    w.data(MAX_SEQ, 0, Buffer.from('x'));
    w.data(2 ** 32 + 0xfe, 0, Buffer.from('y'));
    w.data(0xa1b2c3d4e5f6, 0, payload);
    const batch = w.take();
    assert.equal(batch.subarray(0, 12).toString('hex'), '10' + '00' + 'ffffffffffff' + '00000001');
    assert.equal(batch.subarray(13, 25).toString('hex'), '10' + '00' + '0001000000fe' + '00000001');
    assert.equal(batch.subarray(26, 38).toString('hex'), '10' + '00' + 'a1b2c3d4e5f6' + '00010203');
    assert.deepEqual(collect(batch).map(([kind, seq]) => [kind, seq]), [['data', MAX_SEQ], ['data', 2 ** 32 + 0xfe], ['data', 0xa1b2c3d4e5f6]]);
  });

  test('writes a bytes DATA frame with the kind in flags bits 1–2, the bytes copied as they are', () => {
    const w = new FrameWriter();
    const bytes = new Uint8Array([0x00, 0xff, 0x7b]);
    w.data(9, FLAG_BYTES | FLAG_REDELIVERED, bytes);
    bytes[0] = 0x42;
    const batch = w.take();
    assert.equal(batch.toString('hex'), '10 03 000000000009 00000003 00ff7b'.replace(/\s/g, ''), 'changing the caller\'s buffer afterwards changes nothing');
    const seen: Array<[number, number, string]> = [];
    decodeFrames(batch, { control() {}, data: (seq, flags, buf, start, end) => seen.push([seq, flags, buf.toString('hex', start, end)]), ack() {}, nack() {} });
    assert.deepEqual(seen, [[9, 0x03, '00ff7b']]);
  });

  test('writes ACK and NACK frames', () => {
    const w = new FrameWriter();
    w.ack(7);
    w.nack(8, 'boom');
    assert.equal(w.take().toString('hex'), '11000000000007' + '12000000000008' + '0004' + Buffer.from('boom').toString('hex'));
  });

  test('cuts a NACK reason at 1024 bytes', () => {
    const w = new FrameWriter();
    w.nack(1, 'x'.repeat(5000));
    const seen = collect(w.take());
    assert.equal((seen[0]?.[2] as string).length, 1024);
  });

  test('writes a control frame as type, 32-bit length, JSON', () => {
    assert.equal(encodeControl(FrameType.HELLO, { v: 1 }).toString('hex'), '01' + '00000007' + Buffer.from('{"v":1}').toString('hex'));
  });

  test('grows past its initial buffer and hands over an independent buffer on take()', () => {
    const w = new FrameWriter();
    const big = Buffer.alloc(40_000, 0x61);
    w.data(1, 0, big);
    const first = w.take();
    w.data(2, 0, Buffer.from('b'));
    assert.equal(first.length, 12 + 40_000);
    assert.equal(first[12], 0x61, 'the first batch is not overwritten by later writes');
    assert.deepEqual(collect(w.take()), [['data', 2, 0, 'b']], 'the writer started afresh after take()');
  });
});

describe('reading a written DATA frame back', () => {
  test('finds the payload of the DATA frame at an offset, from its hex fixture', () => {
    const buf = hex('11 000000000001 10 00 000000000003 00000002 7b7d 11 000000000003');
    assert.equal(dataPayloadLength(buf, 7), 2);
    assert.equal(dataPayload(buf, 7).toString('hex'), '7b7d');
  });

  test('finds each frame FrameWriter.data() wrote at the offset it returned, as a view', () => {
    const w = new FrameWriter();
    const texts = ['{"a":1}', '{"b":"Zoë 🚢"}', ''];
    w.ack(1);
    const offsets = texts.map((text, i) => w.data(i + 1, 0, text));
    const batch = w.take();
    texts.forEach((text, i) => {
      const at = offsets[i] as number;
      assert.equal(dataPayloadLength(batch, at), Buffer.byteLength(text));
      const payload = dataPayload(batch, at);
      assert.equal(payload.toString('utf8'), text);
      assert.equal(payload.buffer, batch.buffer, 'no copy');
    });
  });
});

describe('DATA payload kinds', () => {
  test('an unknown payload kind is refused by name, not read as JSON', () => {
    // flags 0x04: kind 2 (bits 1–2), which no peer of this version writes
    assert.equal(codeOf(() => collect(hex('10 04 000000000001 00000002 7b7d'))), 'FERRY_ERR_BAD_FRAME: bad frame at offset 0: unknown payload kind 2 in DATA flags 0x04 (known: 0 JSON, 1 bytes)');
    assert.match(codeOf(() => collect(hex('11 000000000001' + '10 07 000000000002 00000000'))), /offset 7: unknown payload kind 3 in DATA flags 0x07/);
  });

  test('JSON and bytes frames in one batch keep their order and kinds; reserved bits 3–7 are ignored', () => {
    assert.deepEqual(collect(hex('10 00 000000000001 00000002 7b7d' + '10 02 000000000002 00000001 ff' + '10 f8 000000000003 00000000')), [
      ['data', 1, 0x00, '{}'],
      ['data', 2, 0x02, '\ufffd'],
      ['data', 3, 0xf8, ''],
    ]);
  });
});

describe('frame decoding', () => {
  test('reads a batch of mixed frames in order', () => {
    const w = new FrameWriter();
    w.control(FrameType.WELCOME, { v: 1 });
    w.data(1, 0, Buffer.from('"one"'));
    w.data(2, FLAG_REDELIVERED, Buffer.from('"two"'));
    w.ack(9);
    w.nack(3, 'hook failed');
    assert.deepEqual(collect(w.take()), [
      ['control', FrameType.WELCOME, { v: 1 }],
      ['data', 1, 0, '"one"'],
      ['data', 2, 1, '"two"'],
      ['ack', 9],
      ['nack', 3, 'hook failed'],
    ]);
  });

  test('reads a DATA frame from its hex fixture', () => {
    assert.deepEqual(collect(hex('10 00 000000000003 00000002 7b7d')), [['data', 3, 0, '{}']]);
  });

  test('accepts an empty batch', () => {
    assert.deepEqual(collect(Buffer.alloc(0)), []);
  });

  test('refuses an unknown frame type, naming it', () => {
    assert.match(codeOf(() => collect(hex('7f'))), /^FERRY_ERR_BAD_FRAME: .*unknown frame type 0x7f/);
  });

  test('refuses a DATA header cut short', () => {
    assert.match(codeOf(() => collect(hex('10 00 0000'))), /^FERRY_ERR_BAD_FRAME: .*DATA header truncated/);
  });

  test('refuses a DATA payload shorter than its length says', () => {
    assert.match(codeOf(() => collect(hex('10 00 000000000001 00000010 7b7d'))), /DATA payload truncated: needs 16 bytes/);
  });

  test('refuses a lone type byte at the end of a batch', () => {
    assert.match(codeOf(() => collect(hex('11 000000000001 11'))), /ACK truncated/);
  });

  test('refuses a control body that is not JSON', () => {
    assert.match(codeOf(() => collect(hex('01 00000002 7b7b'))), /control frame body is not valid JSON/);
  });

  test('refuses a control body over 4096 bytes without reading it', () => {
    assert.match(codeOf(() => collect(hex('02 00100000'))), /control frame body of 1048576 bytes exceeds 4096/);
  });

  test('hands frames before a bad one to the visitor, then throws', () => {
    const seen: number[] = [];
    const visitor: FrameVisitor = { control() {}, data: (seq) => seen.push(seq), ack() {}, nack() {} };
    assert.throws(() => decodeFrames(hex('10 00 000000000001 00000000 ff'), visitor), /unknown frame type 0xff/);
    assert.deepEqual(seen, [1]);
  });
});

describe('frame encoding of JSON text', () => {
  test('writes a string payload as its UTF-8 bytes, with the byte length (not the char count)', () => {
    const w = new FrameWriter();
    const text = '{"name":"Zoë 🚢"}';
    w.data(1, 0, text);
    const seen = collect(w.take());
    assert.deepEqual(seen, [['data', 1, 0, text]]);
    assert.notEqual(Buffer.byteLength(text), text.length, 'the fixture has multi-byte characters');
  });

  test('every batch handed over keeps its bytes while its slab is held and later batches fill the slab, grow it and start new ones', () => {
    const w = new FrameWriter(new SlabPool(1024 * 1024, 4));
    const kept: Array<{ batch: Buffer; texts: string[] }> = [];
    let seq = 0;
    // Batch sizes from one small frame to past a 1 MiB slab, UTF-8 multibyte text among them.
    for (const [count, chars] of [[1, 10], [40, 900], [3, 200_000], [1, 1_500_000], [200, 1000], [5, 7]] as const) {
      const texts: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const text = JSON.stringify({ seq: ++seq, body: (seq % 2 ? 'é' : 'x').repeat(chars) });
        texts.push(text);
        w.data(seq, 0, text);
      }
      w.slab.retain();
      kept.push({ batch: w.take(), texts });
    }
    for (const { batch, texts } of kept) assert.deepEqual(collect(batch).map((f) => f[3]), texts);
  });

  test('a slab is written again only once every hold on it is released', () => {
    const pool = new SlabPool(64 * 1024, 4);
    const w = new FrameWriter(pool);
    // Each batch leaves less than 16 KiB of its 64 KiB slab: the writer moves on at every take().
    const big = (seq: number): string => JSON.stringify({ seq, body: 'y'.repeat(50_000) });
    w.data(1, 0, big(1));
    const slab = w.slab;
    slab.retain(); // an outbox entry, say
    const first = w.take();
    assert.notEqual(w.slab, slab, 'the writer moved on and let go of it');
    for (let seq = 2; seq <= 4; seq += 1) {
      w.data(seq, 0, big(seq));
      w.take();
    }
    assert.deepEqual(collect(first), [['data', 1, 0, big(1)]], 'still held: never written again');
    assert.equal(pool.free, 1, 'the slabs of batches 2 to 4, held by nobody, take turns');
    slab.release();
    assert.equal(pool.free, 2, 'the last hold released: free for a next batch');
    w.data(5, 0, big(5));
    w.take();
    assert.equal(w.slab, slab, 'and the writer took it again');
    const lone = new Slab(Buffer.alloc(8), undefined);
    lone.retain();
    lone.release();
    assert.throws(() => lone.release(), /released more often than it was held/);
  });

  test('a carver hands out buffers that never overlap, and reuses a slab once the carver moved on and every buffer in it is released', () => {
    const pool = new SlabPool(1000, 4);
    const carver = new SlabCarver(pool);
    const a = carver.carve(400);
    const b = carver.carve(400);
    assert.equal(a.slab, b.slab, 'both fit one slab');
    a.buf.fill(1);
    b.buf.fill(2);
    assert.ok(a.buf.every((x) => x === 1), 'writing the second left the first alone');
    const c = carver.carve(400); // 200 bytes left: the carver moves to a new slab
    assert.notEqual(c.slab, a.slab);
    a.slab.release();
    assert.equal(pool.free, 0, 'b is still being written');
    b.slab.release();
    assert.equal(pool.free, 1, 'nobody holds the first slab any more');
    const d = carver.carve(700);
    assert.equal(d.slab, a.slab, 'the next slab needed is that one');
    const big = carver.carve(5000);
    assert.equal(big.buf.length, 5000, 'larger than a slab: a buffer of its own');
    big.slab.release();
    assert.equal(pool.free, 0, 'which is not pooled');
    c.slab.release();
    assert.equal(pool.free, 1, 'the carver left c\'s slab: free once c is written');
    d.slab.release();
    assert.equal(pool.free, 1, 'd\'s slab is still being carved: not free');
  });

  test('a writer that only ever sends small batches (ACKs) holds a small buffer, never a slab; one that sends a large batch goes on in slabs', () => {
    const pool = new SlabPool(1024 * 1024, 4);
    const w = new FrameWriter(pool);
    const kept: Array<{ batch: Buffer; seq: number }> = [];
    for (let seq = 1; seq <= 10_000; seq += 1) {
      w.ack(seq);
      const batch = w.take();
      if (seq % 1000 === 0) kept.push({ batch, seq });
    }
    assert.ok(w.buffer.buffer.byteLength < pool.slabBytes, `70 KB of ACK batches: still in a ${w.buffer.buffer.byteLength}-byte buffer`);
    for (const { batch, seq } of kept) assert.deepEqual(collect(batch), [['ack', seq]], 'earlier batches left as they were');
    w.data(1, 0, JSON.stringify({ body: 'y'.repeat(20_000) }));
    w.take();
    assert.equal(w.buffer.buffer.byteLength, pool.slabBytes, 'a 20 KB batch outgrew it: into a slab');
  });

  test('a small batch handed over stays as it was: later writes into the same slab leave it alone', () => {
    const w = new FrameWriter();
    w.data(1, 0, '"first"');
    const first = w.take();
    w.data(2, 0, '"other"');
    w.take();
    assert.deepEqual(collect(first), [['data', 1, 0, '"first"']]);
  });
});
