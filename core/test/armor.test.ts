/**
 * The session armor through its public API: the handshake between two ArmorHandshakes, and the
 * sealed-frame session it yields. One test per security property, each asserting the code.
 * Known-answer tests are in armor-kat.test.ts; the handshake codec in armor-frames.test.ts.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { ARMOR_EXPORTER_LABEL, ArmorHandshake, ArmorSession } from '../src/armor/index.js';
import type { ArmorHandshakeOptions, RekeyPolicy } from '../src/armor/index.js';
import { Transcript as TranscriptHash } from '../src/armor/key-schedule.js';
import { spkiOf } from '../src/armor/signature.js';
import { ArmorError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { isArmorHandshakeMessage, isArmorSealedFrame } from './helpers/armor-bytes.js';

// ---- helpers ----

type KeyPair = { privateKey: KeyObject; publicKey: KeyObject };
const p256 = (): KeyPair => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ed25519 = (): KeyPair => generateKeyPairSync('ed25519');

/** Long-term (certificate) keys for the two pods, made once: generation dominates test time. */
const POD_I = p256();
const POD_T = p256();
const MALLORY = p256();

const LOOSE_REKEY: RekeyPolicy = { intervalMs: 3_600_000, messages: 1_000_000 };

/** Asserts that `fn` throws an ArmorError with `code` (and a message matching `reason`, if given). */
function assertArmorError(fn: () => unknown, code: ErrorCode, reason?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ArmorError, `expected an ArmorError, got ${String(err)}`);
    assert.equal(err.code, code, `code (message: ${err.message})`);
    if (reason !== undefined) assert.match(err.message, reason);
    return true;
  });
}

interface PairOptions {
  initiatorKey?: KeyPair;
  terminatorKey?: KeyPair;
  /** What each side believes the other's certificate key is (defaults: the real ones). */
  initiatorSeesPeer?: KeyObject;
  terminatorSeesPeer?: KeyObject;
  initiatorExporter?: Buffer;
  terminatorExporter?: Buffer;
  rekey?: RekeyPolicy;
  now?: () => number;
}

function handshakes(o: PairOptions = {}): { i: ArmorHandshake; t: ArmorHandshake } {
  const iKey = o.initiatorKey ?? POD_I;
  const tKey = o.terminatorKey ?? POD_T;
  const exporter = randomBytes(32);
  const common: Pick<ArmorHandshakeOptions, 'rekey'> & { now?: () => number } = {
    rekey: o.rekey ?? LOOSE_REKEY,
    ...(o.now === undefined ? {} : { now: o.now }),
  };
  const i = new ArmorHandshake({
    ...common,
    role: 'initiator',
    exporter: o.initiatorExporter ?? exporter,
    localPrivateKey: iKey.privateKey,
    peerPublicKey: o.initiatorSeesPeer ?? tKey.publicKey,
  });
  const t = new ArmorHandshake({
    ...common,
    role: 'terminator',
    exporter: o.terminatorExporter ?? exporter,
    localPrivateKey: tKey.privateKey,
    peerPublicKey: o.terminatorSeesPeer ?? iKey.publicKey,
  });
  return { i, t };
}

interface HandshakeMessages {
  init: Buffer;
  resp: Buffer;
  finish: Buffer;
}

/** Runs INIT → RESP → FINISH and returns both sessions and the messages exchanged. */
function connect(o: PairOptions = {}): { initiator: ArmorSession; terminator: ArmorSession; messages: HandshakeMessages } {
  const { i, t } = handshakes(o);
  const init = i.start();
  assert.ok(init, 'initiator start() returns INIT');
  const stepT = t.receive(init);
  assert.ok(stepT.reply && !stepT.session, 'terminator replies RESP and has no session yet');
  const stepI = i.receive(stepT.reply);
  assert.ok(stepI.reply && stepI.session, 'initiator replies FINISH with its session');
  const stepT2 = t.receive(stepI.reply);
  assert.ok(!stepT2.reply && stepT2.session, 'terminator has its session after FINISH, no reply');
  return {
    initiator: stepI.session,
    terminator: stepT2.session,
    messages: { init, resp: stepT.reply, finish: stepI.reply },
  };
}

function flipBit(buf: Buffer, byteIndex: number, bit = 0): Buffer {
  const copy = Buffer.from(buf);
  copy[byteIndex] = (copy[byteIndex] ?? 0) ^ (1 << bit);
  return copy;
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

// ---- handshake ----

describe('ArmorHandshake', () => {
  it('uses the agreed TLS exporter label', () => {
    assert.equal(ARMOR_EXPORTER_LABEL, 'EXPORTER-fast-ferry-armor-v1');
  });

  it('completes between P-256 pods, and both sides derive the same session and keys', () => {
    const { initiator, terminator, messages } = connect();
    assert.equal(initiator.identity.sessionId, terminator.identity.sessionId);
    assert.match(initiator.identity.sessionId, /^[0-9a-f]{32}$/);
    assert.equal(initiator.identity.localEphemeral, terminator.identity.peerEphemeral);
    assert.equal(initiator.identity.peerEphemeral, terminator.identity.localEphemeral);
    assert.equal(terminator.open(initiator.seal(text('ping'))).toString(), 'ping');
    assert.equal(initiator.open(terminator.seal(text('pong'))).toString(), 'pong');
    assert.equal(messages.init.length, 66);
    assert.equal(messages.resp.length, 68 + 64, 'RESP carries a 64-byte P1363 ECDSA signature');
    assert.equal(messages.finish.length, 4 + 64);
  });

  it('completes with Ed25519 certificate keys', () => {
    const { initiator, terminator } = connect({ initiatorKey: ed25519(), terminatorKey: ed25519() });
    assert.equal(terminator.open(initiator.seal(text('ed'))).toString(), 'ed');
    assert.equal(initiator.open(terminator.seal(text('25519'))).toString(), '25519');
  });

  it('completes when one pod has a P-256 key and the other an Ed25519 key', () => {
    const { initiator, terminator } = connect({ terminatorKey: ed25519() });
    assert.equal(terminator.open(initiator.seal(text('mixed'))).toString(), 'mixed');
  });

  it('gives every connection a fresh session id and fresh ephemeral keys', () => {
    const a = connect();
    const b = connect();
    assert.notEqual(a.initiator.identity.sessionId, b.initiator.identity.sessionId);
    assert.notEqual(a.initiator.identity.localEphemeral, b.initiator.identity.localEphemeral);
    assert.notEqual(a.terminator.identity.localEphemeral, b.terminator.identity.localEphemeral);
  });

  it("the terminator's start() returns null and the state names the step", () => {
    const { i, t } = handshakes();
    assert.equal(t.start(), null);
    assert.equal(t.state, 'awaiting-init');
    assert.equal(i.state, 'new');
    const init = i.start();
    assert.ok(init && isArmorHandshakeMessage(init));
    assert.equal(i.state, 'awaiting-resp');
    const resp = t.receive(init).reply;
    assert.ok(resp);
    assert.equal(t.state, 'awaiting-finish');
    const finish = i.receive(resp).reply;
    assert.ok(finish);
    assert.equal(i.state, 'established');
    t.receive(finish);
    assert.equal(t.state, 'established');
  });

  it('fails when the handshake is moved to another TLS connection (different exporter)', () => {
    // A relay between two TLS connections: each pod sees a different exporter.
    const { i, t } = handshakes({ initiatorExporter: randomBytes(32), terminatorExporter: randomBytes(32) });
    const init = i.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    assertArmorError(() => i.receive(resp), 'FERRY_ERR_ARMOR_HANDSHAKE', /RESP signature does not verify/);
  });

  it('fails when an INIT and FINISH recorded from an earlier handshake are replayed', () => {
    const earlier = connect().messages;
    const { t } = handshakes();
    const resp = t.receive(earlier.init).reply; // the terminator cannot tell INIT is old...
    assert.ok(resp);
    // ...but the old FINISH signs a transcript with the old exporter, RESP and nonces.
    assertArmorError(() => t.receive(earlier.finish), 'FERRY_ERR_ARMOR_HANDSHAKE', /FINISH signature does not verify/);
    assert.equal(t.state, 'failed');
  });

  it('fails when a RESP recorded from an earlier handshake is replayed to a new initiator', () => {
    const earlier = connect().messages;
    const { i } = handshakes();
    i.start();
    assertArmorError(() => i.receive(earlier.resp), 'FERRY_ERR_ARMOR_HANDSHAKE', /RESP signature does not verify/);
  });

  it("fails when RESP is signed by a key other than the terminator's certificate key", () => {
    // The initiator expects POD_T (from the TLS certificate); Mallory's key signs RESP.
    const { i, t } = handshakes({ terminatorKey: MALLORY, initiatorSeesPeer: POD_T.publicKey });
    const init = i.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    assertArmorError(() => i.receive(resp), 'FERRY_ERR_ARMOR_HANDSHAKE', /terminator's certificate key/);
  });

  it("fails when FINISH is signed by a key other than the initiator's certificate key", () => {
    // Mallory completes the transcript correctly but can only sign it with her own key.
    const exporter = randomBytes(32);
    const { i, t } = handshakes({ initiatorExporter: exporter, terminatorExporter: exporter });
    const init = i.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    const th2 = new TranscriptHash(exporter, spkiOf(POD_I.publicKey), spkiOf(POD_T.publicKey))
      .update(init)
      .update(resp)
      .snapshot();
    const context = text('fast-ferry armor v1, initiator signature');
    const content = Buffer.concat([Buffer.alloc(64, 0x20), context, Buffer.alloc(1), th2]);
    const forged = sign('sha256', content, { key: MALLORY.privateKey, dsaEncoding: 'ieee-p1363' });
    const finish = Buffer.concat([Buffer.from([0x22, 0x01, 0x00, forged.length]), forged]);
    assertArmorError(() => t.receive(finish), 'FERRY_ERR_ARMOR_HANDSHAKE', /initiator's certificate key/);
  });

  it('fails when the two pods disagree on who the initiator is (identities are in the transcript)', () => {
    // The terminator expects POD_I's certificate; the initiator actually holds MALLORY's key.
    const { i, t } = handshakes({ initiatorKey: MALLORY, terminatorSeesPeer: POD_I.publicKey });
    const init = i.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    assertArmorError(() => i.receive(resp), 'FERRY_ERR_ARMOR_HANDSHAKE', /RESP signature does not verify/);
  });

  it("fails when the certificate key's type differs from the signature's (Ed25519 signer, P-256 expected)", () => {
    const { i, t } = handshakes({ terminatorKey: ed25519(), initiatorSeesPeer: POD_T.publicKey });
    const init = i.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    assertArmorError(() => i.receive(resp), 'FERRY_ERR_ARMOR_HANDSHAKE');
  });

  it("fails when the terminator's signature is reflected as FINISH, even if both pods share one key", () => {
    const shared = p256();
    const { i, t } = handshakes({ initiatorKey: shared, terminatorKey: shared });
    const init = i.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    // FINISH = 0x22 | version | u16 length | signature: reuse RESP's signature bytes verbatim.
    const reflected = Buffer.concat([Buffer.from([0x22, 0x01]), resp.subarray(66)]);
    assertArmorError(() => t.receive(reflected), 'FERRY_ERR_ARMOR_HANDSHAKE', /FINISH signature does not verify/);
  });

  it('fails when RESP is tampered with (a flipped bit in its ephemeral key)', () => {
    const { i, t } = handshakes();
    const init = i.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    assertArmorError(() => i.receive(flipBit(resp, 10)), 'FERRY_ERR_ARMOR_HANDSHAKE');
  });

  it('fails when INIT carries a small-order (all-zero) ephemeral key', () => {
    const { t } = handshakes();
    const init = Buffer.concat([Buffer.from([0x20, 0x01]), Buffer.alloc(32), randomBytes(32)]);
    assertArmorError(() => t.receive(init), 'FERRY_ERR_ARMOR_HANDSHAKE', /X25519/);
  });

  it('fails on a message out of order, and refuses everything after a failure', () => {
    const { i, t } = handshakes();
    const init = i.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    assertArmorError(
      () => t.receive(init),
      'FERRY_ERR_ARMOR_HANDSHAKE',
      /unexpected INIT \(0x20\) while the terminator is awaiting-finish/,
    );
    assert.equal(t.state, 'failed');
    const finish = i.receive(resp).reply;
    assert.ok(finish);
    assertArmorError(() => t.receive(finish), 'FERRY_ERR_ARMOR_HANDSHAKE', /already failed/);
  });

  it('fails when the initiator receives RESP before start()', () => {
    const { i, t } = handshakes();
    const { i: other } = handshakes();
    const init = other.start();
    assert.ok(init);
    const resp = t.receive(init).reply;
    assert.ok(resp);
    assertArmorError(
      () => i.receive(resp),
      'FERRY_ERR_ARMOR_HANDSHAKE',
      /unexpected RESP \(0x21\) while the initiator is new/,
    );
  });

  it('fails with a clear reason on truncated and garbage handshake messages', () => {
    const { i, t } = handshakes();
    const init = i.start();
    assert.ok(init);
    assertArmorError(
      () => t.receive(init.subarray(0, 40)),
      'FERRY_ERR_ARMOR_HANDSHAKE',
      /INIT \(0x20\) truncated: 40 byte\(s\), expected 66/,
    );
    const t2 = handshakes().t;
    assertArmorError(() => t2.receive(randomBytes(66).fill(0x7f, 0, 1)), 'FERRY_ERR_ARMOR_HANDSHAKE', /unknown type 0x7f/);
    const t3 = handshakes().t;
    assertArmorError(() => t3.receive(Buffer.alloc(0)), 'FERRY_ERR_ARMOR_HANDSHAKE', /an empty message/);
  });

  it('rejects invalid options with a TypeError that names the option', () => {
    const base: ArmorHandshakeOptions = {
      role: 'initiator',
      exporter: randomBytes(32),
      localPrivateKey: POD_I.privateKey,
      peerPublicKey: POD_T.publicKey,
      rekey: LOOSE_REKEY,
    };
    assert.throws(() => new ArmorHandshake({ ...base, exporter: randomBytes(16) }), /exporter/);
    assert.throws(() => new ArmorHandshake({ ...base, peerPublicKey: POD_T.privateKey }), /peerPublicKey/);
    assert.throws(() => new ArmorHandshake({ ...base, localPrivateKey: POD_I.publicKey }), /localPrivateKey/);
    assert.throws(() => new ArmorHandshake({ ...base, rekey: { intervalMs: 0, messages: 10 } }), /rekey\.intervalMs/);
    assert.throws(() => new ArmorHandshake({ ...base, rekey: { intervalMs: 1000, messages: 1.5 } }), /rekey\.messages/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(() => new ArmorHandshake({ ...base, localPrivateKey: rsa.privateKey }), TypeError);
  });
});

// ---- session ----

describe('ArmorSession', () => {
  it('round-trips many messages in both directions, interleaved', () => {
    const { initiator, terminator } = connect();
    for (let n = 0; n < 2_000; n++) {
      assert.equal(terminator.open(initiator.seal(text(`i→t ${n}`))).toString(), `i→t ${n}`);
      if (n % 3 === 0) assert.equal(initiator.open(terminator.seal(text(`t→i ${n}`))).toString(), `t→i ${n}`);
    }
  });

  it('round-trips a 1 MiB plaintext and an empty one', () => {
    const { initiator, terminator } = connect();
    const big = randomBytes(1024 * 1024);
    const sealed = initiator.seal(big);
    assert.equal(sealed.length, 13 + big.length + 16);
    assert.ok(terminator.open(sealed).equals(big));
    assert.equal(terminator.open(initiator.seal(Buffer.alloc(0))).length, 0);
  });

  it("seals into memory the caller gives, which must be exactly the frame's size, and the peer opens it", () => {
    const { initiator, terminator } = connect();
    const plain = text('into a slab');
    const out = Buffer.alloc(plain.length + ArmorSession.SEAL_OVERHEAD + 4, 0xee);
    assert.throws(() => initiator.sealInto(plain, out), /takes 40 bytes, not 44/);
    const frame = out.subarray(2, 2 + plain.length + ArmorSession.SEAL_OVERHEAD);
    initiator.sealInto(plain, frame);
    assert.deepEqual([out[0], out[1], out.at(-2), out.at(-1)], [0xee, 0xee, 0xee, 0xee], 'nothing written around it');
    assert.equal(terminator.open(frame).toString(), 'into a slab');
    assert.equal(terminator.open(initiator.seal(text('and on'))).toString(), 'and on', 'the refused call used no counter');
  });

  it('lays a sealed frame out as 0x30 | epoch u32 | counter u64 | ciphertext | 16-byte tag', () => {
    const { initiator } = connect();
    initiator.seal(text('first'));
    const frame = initiator.seal(text('second'));
    assert.ok(isArmorSealedFrame(frame) && !isArmorHandshakeMessage(frame));
    assert.equal(frame[0], 0x30);
    assert.equal(frame.readUInt32BE(1), 0, 'epoch');
    assert.equal(frame.readBigUInt64BE(5), 1n, 'counter');
    assert.equal(frame.length, 13 + 'second'.length + 16);
    assert.ok(!frame.includes(text('second')), 'plaintext does not appear in the frame');
  });

  it('does not modify the plaintext it seals', () => {
    const { initiator } = connect();
    const plaintext = text('leave me alone');
    initiator.seal(plaintext);
    assert.equal(plaintext.toString(), 'leave me alone');
  });

  it('uses a different key per direction: a frame reflected back to its sender fails', () => {
    const { initiator } = connect();
    assertArmorError(() => initiator.open(initiator.seal(text('echo'))), 'FERRY_ERR_ARMOR_DECRYPT');
  });

  it('fails on a flipped bit in the ciphertext', () => {
    const { initiator, terminator } = connect();
    const frame = initiator.seal(text('integrity matters'));
    assertArmorError(() => terminator.open(flipBit(frame, 13 + 3)), 'FERRY_ERR_ARMOR_DECRYPT', /failed authentication/);
  });

  it('fails on a flipped bit in the tag', () => {
    const { initiator, terminator } = connect();
    const frame = initiator.seal(text('integrity matters'));
    assertArmorError(() => terminator.open(flipBit(frame, frame.length - 1, 7)), 'FERRY_ERR_ARMOR_DECRYPT');
  });

  it('fails on a flipped bit in the header (counter, epoch or type byte)', () => {
    const { initiator, terminator } = connect();
    const frame = initiator.seal(text('integrity matters'));
    assertArmorError(() => terminator.open(flipBit(frame, 12)), 'FERRY_ERR_ARMOR_DECRYPT', /failed authentication/);
    assertArmorError(() => terminator.open(flipBit(frame, 4)), 'FERRY_ERR_ARMOR_DECRYPT', /failed authentication/);
    assertArmorError(() => terminator.open(flipBit(frame, 1, 7)), 'FERRY_ERR_ARMOR_DECRYPT', /more than one ahead/);
    assertArmorError(() => terminator.open(flipBit(frame, 0)), 'FERRY_ERR_ARMOR_DECRYPT', /not a sealed frame/);
    // None of the forgeries changed state: the genuine frame still opens.
    assert.equal(terminator.open(frame).toString(), 'integrity matters');
  });

  it('fails on a truncated sealed frame', () => {
    const { initiator, terminator } = connect();
    const frame = initiator.seal(text('x'));
    assertArmorError(() => terminator.open(frame.subarray(0, 20)), 'FERRY_ERR_ARMOR_DECRYPT', /truncated/);
    assertArmorError(() => terminator.open(frame.subarray(0, frame.length - 1)), 'FERRY_ERR_ARMOR_DECRYPT');
  });

  it('fails on a replayed sealed frame', () => {
    const { initiator, terminator } = connect();
    const frame = initiator.seal(text('once'));
    terminator.open(frame);
    assertArmorError(() => terminator.open(frame), 'FERRY_ERR_ARMOR_REPLAY', /counter 0, expected 1: replayed/);
  });

  it('fails on a reordered pair of frames', () => {
    const { initiator, terminator } = connect();
    const first = initiator.seal(text('1'));
    const second = initiator.seal(text('2'));
    assertArmorError(() => terminator.open(second), 'FERRY_ERR_ARMOR_REPLAY', /counter 1, expected 0/);
    // The rejected frame changed nothing: in order, both open.
    assert.equal(terminator.open(first).toString(), '1');
    assert.equal(terminator.open(second).toString(), '2');
  });

  it('fails on a dropped frame', () => {
    const { initiator, terminator } = connect();
    terminator.open(initiator.seal(text('1')));
    initiator.seal(text('2 (lost)'));
    assertArmorError(() => terminator.open(initiator.seal(text('3'))), 'FERRY_ERR_ARMOR_REPLAY', /dropped/);
  });

  it('fails on a frame dropped just before a rekey (the counter does not restart per epoch)', () => {
    const { initiator, terminator } = connect({ rekey: { intervalMs: 3_600_000, messages: 2 } });
    terminator.open(initiator.seal(text('epoch 0, counter 0')));
    initiator.seal(text('epoch 0, counter 1 (lost)'));
    const next = initiator.seal(text('epoch 1, counter 2'));
    assert.equal(next.readUInt32BE(1), 1);
    assertArmorError(() => terminator.open(next), 'FERRY_ERR_ARMOR_REPLAY', /counter 2, expected 1/);
  });

  it('fails on a frame under a rotated-out key', () => {
    const { initiator, terminator } = connect({ rekey: { intervalMs: 3_600_000, messages: 2 } });
    const old = initiator.seal(text('epoch 0'));
    terminator.open(old);
    terminator.open(initiator.seal(text('epoch 0 again')));
    terminator.open(initiator.seal(text('epoch 1')));
    assert.equal(terminator.receiveEpoch, 1);
    assertArmorError(() => terminator.open(old), 'FERRY_ERR_ARMOR_STALE_KEY', /epoch 0, which was rotated out/);
  });

  it('does not advance the receive key for a forged next-epoch frame', () => {
    const { initiator, terminator } = connect();
    const frame = initiator.seal(text('epoch 0'));
    const forged = Buffer.from(frame);
    forged.writeUInt32BE(1, 1); // claim the next epoch
    assertArmorError(() => terminator.open(forged), 'FERRY_ERR_ARMOR_DECRYPT');
    assert.equal(terminator.receiveEpoch, 0);
    assert.equal(terminator.open(frame).toString(), 'epoch 0');
  });

  it('rekeys by message count, and the peer keeps decrypting across every rotation', () => {
    const { initiator, terminator } = connect({ rekey: { intervalMs: 3_600_000, messages: 5 } });
    for (let n = 0; n < 23; n++) assert.equal(terminator.open(initiator.seal(text(`m${n}`))).toString(), `m${n}`);
    // 23 frames at 5 per key: epochs 0..4, so 4 rotations.
    assert.equal(initiator.sendEpoch, 4);
    assert.deepEqual({ ...initiator.rekeys }, { send: 4, receive: 0 });
    assert.deepEqual({ ...terminator.rekeys }, { send: 0, receive: 4 });
    const reply = text('other direction unaffected');
    assert.ok(initiator.open(terminator.seal(reply)).equals(reply));
    assert.equal(terminator.sendEpoch, 0);
  });

  it('rekeys by time (injected clock), and the peer keeps decrypting across it', () => {
    let clock = 1_000;
    const { initiator, terminator } = connect({ rekey: { intervalMs: 60_000, messages: 1_000_000 }, now: () => clock });
    assert.equal(terminator.open(initiator.seal(text('t=1s'))).toString(), 't=1s');
    clock += 59_999;
    assert.equal(terminator.open(initiator.seal(text('just before'))).toString(), 'just before');
    assert.equal(initiator.sendEpoch, 0);
    clock += 1;
    const rotated = initiator.seal(text('interval reached'));
    assert.equal(rotated.readUInt32BE(1), 1, 'epoch in the header');
    assert.equal(terminator.open(rotated).toString(), 'interval reached');
    assert.equal(initiator.rekeys.send, 1);
    assert.equal(terminator.rekeys.receive, 1);
    clock += 120_000; // two intervals idle: still one rotation per seal, never a skipped epoch
    assert.equal(terminator.open(initiator.seal(text('later'))).toString(), 'later');
    assert.equal(initiator.sendEpoch, 2);
  });

  it('rekeys each direction independently, on its own sender', () => {
    const { initiator, terminator } = connect({ rekey: { intervalMs: 3_600_000, messages: 3 } });
    for (let n = 0; n < 10; n++) {
      terminator.open(initiator.seal(text(`i${n}`)));
      initiator.open(terminator.seal(text(`t${n}`)));
    }
    assert.deepEqual({ ...initiator.rekeys }, { send: 3, receive: 3 });
    assert.deepEqual({ ...terminator.rekeys }, { send: 3, receive: 3 });
  });

  it('refuses to seal or open after destroy()', () => {
    const { initiator, terminator } = connect();
    const frame = initiator.seal(text('before'));
    initiator.destroy();
    terminator.destroy();
    assert.equal(initiator.destroyed, true);
    assertArmorError(() => initiator.seal(text('after')), 'FERRY_ERR_SESSION_CLOSED');
    assertArmorError(() => terminator.open(frame), 'FERRY_ERR_SESSION_CLOSED');
    initiator.destroy(); // idempotent
  });

  it('zeroes its keys on destroy()', () => {
    const sendKey = randomBytes(32);
    const receiveKey = randomBytes(32);
    const session = new ArmorSession({
      sendKey,
      receiveKey,
      identity: { sessionId: '00', localEphemeral: '11', peerEphemeral: '22' },
      rekey: LOOSE_REKEY,
    });
    session.destroy();
    assert.ok(sendKey.equals(Buffer.alloc(32)) && receiveKey.equals(Buffer.alloc(32)));
  });

  it('zeroes the old send key when it rotates', () => {
    const sendKey = randomBytes(32);
    const session = new ArmorSession({
      sendKey,
      receiveKey: randomBytes(32),
      identity: { sessionId: '00', localEphemeral: '11', peerEphemeral: '22' },
      rekey: { intervalMs: 3_600_000, messages: 1 },
    });
    session.seal(text('epoch 0'));
    assert.ok(!sendKey.equals(Buffer.alloc(32)));
    session.seal(text('epoch 1'));
    assert.ok(sendKey.equals(Buffer.alloc(32)));
  });
});

describe('isArmorHandshakeMessage', () => {
  it('tells armor handshake messages (0x20–0x22) from sealed frames and session frames', () => {
    assert.equal(isArmorHandshakeMessage(Buffer.from([0x20])), true);
    assert.equal(isArmorHandshakeMessage(Buffer.from([0x21])), true);
    assert.equal(isArmorHandshakeMessage(Buffer.from([0x22])), true);
    assert.equal(isArmorHandshakeMessage(Buffer.from([0x30])), false);
    assert.equal(isArmorHandshakeMessage(Buffer.from([0x01])), false);
    assert.equal(isArmorHandshakeMessage(Buffer.alloc(0)), false);
  });
});
