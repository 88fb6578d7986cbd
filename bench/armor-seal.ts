/**
 * Micro-benchmark of the session armor's hot path: ArmorSession.seal and .open (AES-256-GCM),
 * per plaintext size. Not a test. Run from the repo root:
 *
 *   node --import tsx bench/armor-seal.ts            # ~1 s per case
 *   BENCH_SECONDS=3 node --import tsx bench/armor-seal.ts
 *
 * Each "frame" is one seal (or open) call: the wire layer seals one batch of many messages per
 * call, so messages/s = frames/s × messages per batch.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ArmorHandshake } from '../core/src/armor/index.js';
import type { ArmorSession } from '../core/src/armor/index.js';

const SIZES = [128, 1024, 16 * 1024, 64 * 1024, 256 * 1024];
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '1');
/** open() is timed over batches of this many frames, sealed beforehand (untimed). */
const RING = 2048;

function connect(): { sender: ArmorSession; receiver: ArmorSession } {
  const i = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const t = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const exporter = randomBytes(32);
  const rekey = { intervalMs: 60_000, messages: 1_000_000 };
  const initiator = new ArmorHandshake({
    role: 'initiator',
    exporter,
    localPrivateKey: i.privateKey,
    peerPublicKey: t.publicKey,
    rekey,
  });
  const terminator = new ArmorHandshake({
    role: 'terminator',
    exporter,
    localPrivateKey: t.privateKey,
    peerPublicKey: i.publicKey,
    rekey,
  });
  const resp = terminator.receive(initiator.start() ?? Buffer.alloc(0)).reply ?? Buffer.alloc(0);
  const { reply: finish, session: sender } = initiator.receive(resp);
  const { session: receiver } = terminator.receive(finish ?? Buffer.alloc(0));
  if (sender === undefined || receiver === undefined) throw new Error('handshake did not complete');
  return { sender, receiver };
}

interface Result {
  name: string;
  sealPerSec: number;
  openPerSec: number;
  roundTripPerSec: number;
  bytes: number;
}

function bench(size: number): Result {
  const plaintext = randomBytes(size);
  const deadline = (): bigint => process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));

  // seal only
  let { sender, receiver } = connect();
  let frames = 0;
  let start = process.hrtime.bigint();
  let end = deadline();
  while (process.hrtime.bigint() < end) {
    for (let k = 0; k < 256; k++) sender.seal(plaintext);
    frames += 256;
  }
  const sealPerSec = frames / (Number(process.hrtime.bigint() - start) / 1e9);

  // open only: frames pre-sealed in order (untimed), then opened in order (timed)
  ({ sender, receiver } = connect());
  frames = 0;
  let openNs = 0n;
  end = deadline();
  while (process.hrtime.bigint() < end) {
    const batch: Buffer[] = [];
    for (let k = 0; k < RING; k++) batch.push(sender.seal(plaintext));
    const t0 = process.hrtime.bigint();
    for (const frame of batch) receiver.open(frame);
    openNs += process.hrtime.bigint() - t0;
    frames += batch.length;
    if (openNs > BigInt(Math.round(SECONDS * 1e9))) break;
  }
  const openPerSec = frames / (Number(openNs) / 1e9);

  // seal + open, the round trip a message takes
  ({ sender, receiver } = connect());
  frames = 0;
  start = process.hrtime.bigint();
  end = deadline();
  while (process.hrtime.bigint() < end) {
    for (let k = 0; k < 256; k++) receiver.open(sender.seal(plaintext));
    frames += 256;
  }
  const roundTripPerSec = frames / (Number(process.hrtime.bigint() - start) / 1e9);

  return { name: `seal/open ${formatSize(size)}`, sealPerSec, openPerSec, roundTripPerSec, bytes: size };
}

function formatSize(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function mib(perSec: number, bytes: number): string {
  return ((perSec * bytes) / (1024 * 1024)).toFixed(0);
}

function main(): void {
  console.log(`armor AES-256-GCM, node ${process.version}, ${SECONDS}s per measurement\n`);
  const header = ['case', 'seal frames/s', 'seal MiB/s', 'open frames/s', 'open MiB/s', 'seal+open frames/s', 'seal+open MiB/s'];
  const rows = SIZES.map((size) => {
    const r = bench(size);
    return [
      r.name,
      fmt(r.sealPerSec),
      mib(r.sealPerSec, r.bytes),
      fmt(r.openPerSec),
      mib(r.openPerSec, r.bytes),
      fmt(r.roundTripPerSec),
      mib(r.roundTripPerSec, r.bytes),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const pad = (cell: string, c: number): string =>
    c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0);
  const line = (cells: string[]): string => cells.map(pad).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

main();
