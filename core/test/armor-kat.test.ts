/**
 * Known-answer tests for the session armor. Every expected value here comes from a published
 * RFC or was computed once, outside this code base, by the openssl CLI (and, for whole sealed
 * frames, Python's `cryptography` AESGCM). None was obtained by running the TypeScript under test.
 *
 * How the key-schedule fixtures were computed (OpenSSL 3.0.19, Python cryptography 48.0.0):
 *
 *   openssl genpkey -algorithm X25519 -out eph_i.pem            # and eph_t.pem
 *   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out lt_i.pem   # and lt_t.pem
 *   openssl pkey -in K.pem -pubout -outform DER -out K.spki.der  # for each key
 *   EPH_x_PUB = last 32 bytes of eph_x.spki.der
 *   SHARED    = openssl pkeyutl -derive -inkey eph_i.pem -peerkey eph_t.pub.pem   (and the reverse, equal)
 *   INIT      = 20 01 | EPH_I_PUB | NONCE_I          RESP_SIGNED = 21 01 | EPH_T_PUB | NONCE_T
 *   TH1       = openssl dgst -sha256 over  "fast-ferry armor v1 transcript" | EXPORTER
 *               | u16 len | lt_i.spki.der | u16 len | lt_t.spki.der | INIT | RESP_SIGNED
 *   K_IT      = openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:SHARED -kdfopt hexsalt:TH1
 *                 -kdfopt 'info:fast-ferry armor v1 key initiator->terminator' HKDF
 *   K_TI      = same, info 'fast-ferry armor v1 key terminator->initiator'
 *   SID       = same with -keylen 16, info 'fast-ferry armor v1 session id'
 *   K_IT_1    = openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:K_IT
 *                 -kdfopt 'info:fast-ferry armor v1 rekey' HKDF            (no salt); K_IT_2 from K_IT_1
 *   FRAME_e_c = header | AESGCM(key).encrypt(nonce = header[1:13], pt, aad = header)
 *               with header = 30 | u32 epoch | u64 counter                  (Python cryptography)
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { ArmorHandshake } from '../src/armor/handshake.js';
import type { ArmorSession } from '../src/armor/session.js';
import {
  Transcript,
  deriveSessionKeys,
  hkdf,
  ratchetKey,
  x25519PublicKeyFromRaw,
  x25519RawPublicKey,
  x25519SharedSecret,
} from '../src/armor/key-schedule.js';
import { spkiOf } from '../src/armor/signature.js';
import { ArmorError } from '../src/errors.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** PKCS#8 DER prefix of an X25519 private key (RFC 8410), for keys given as 32 raw bytes. */
const X25519_PKCS8_PREFIX = '302e020100300506032b656e04220420';
const x25519Private = (raw: string): KeyObject =>
  createPrivateKey({ key: hex(X25519_PKCS8_PREFIX + raw), format: 'der', type: 'pkcs8' });

describe('armor KAT: HKDF-SHA256 (RFC 5869 appendix A.1, test case 1)', () => {
  it('derives the RFC OKM from the RFC IKM, salt and info', () => {
    const okm = hkdf(
      hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    assert.equal(
      okm.toString('hex'),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });
});

describe('armor KAT: X25519 (RFC 7748 §6.1)', () => {
  const alicePrivate = x25519Private('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const bobPrivate = x25519Private('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const alicePublic = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
  const bobPublic = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

  it('computes both RFC public keys from the RFC private keys', () => {
    assert.equal(x25519RawPublicKey(alicePrivate).toString('hex'), alicePublic);
    assert.equal(x25519RawPublicKey(bobPrivate).toString('hex'), bobPublic);
  });

  it('agrees on the RFC shared secret from either side, with public keys parsed from raw bytes', () => {
    assert.equal(x25519SharedSecret(alicePrivate, x25519PublicKeyFromRaw(hex(bobPublic))).toString('hex'), shared);
    assert.equal(x25519SharedSecret(bobPrivate, x25519PublicKeyFromRaw(hex(alicePublic))).toString('hex'), shared);
  });

  it('refuses a small-order peer key that would force an all-zero secret', () => {
    assert.throws(
      () => x25519SharedSecret(alicePrivate, x25519PublicKeyFromRaw(Buffer.alloc(32))),
      (err: unknown) => err instanceof ArmorError && err.code === 'FERRY_ERR_ARMOR_HANDSHAKE',
    );
  });
});

// ---- Fixed inputs for the key schedule (see the header comment for how they were made). ----

const EPH_I_PRIVATE_PEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIPgG+RvEREasnqoRCa5fZkSK8GzS5o01rFpuuJQnPSRJ
-----END PRIVATE KEY-----`;
const EPH_T_PRIVATE_PEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEILBBJq4VehP8xZupQZwCf0jNkKKKLqtpzKGiWRtlE3BU
-----END PRIVATE KEY-----`;
const LT_I_PRIVATE_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFTlsYWnT/cLdSioH
jka6UFinWuPPy1EReiY+12H6L/ChRANCAATLV8M+FBgrIVnA87IxDX9cnYSu235V
K3nrYjRx85nf61sJOE+ZhGwSGr1IY36/jVxWaSkXSIXH2lx2RO3CinhY
-----END PRIVATE KEY-----`;
const LT_T_PRIVATE_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVF1wQKonxEe0UBCL
slNAtGmpJkxSUCbbuzfOVAyxskKhRANCAAQfkpR+tbfP4C0/sJziKk4JfzbKCbXl
BaOnW3hmS6XwKcExH9tr9rfefGMRbAP6Zog8R/uvoBTiQvrAoVJyWYHn
-----END PRIVATE KEY-----`;

const NONCE_I = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const NONCE_T = '202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f';
const EXPORTER = '404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f';

const EXPECTED = {
  ephIPublic: '8e71dc93e9e093d5e1f6af73e794ff94a2f573ed76a4b00dfc3123adf5cd5a0e',
  ephTPublic: '3a06d15ef53022e6505f9be4cfa5c4dd23584544c98d72344728a167d629135b',
  shared: 'a200f39fac2617654e247c7a064c5810590f3ee1701b6617f3bf10b2f8158862',
  th1: '45424e9b030877078ee7000922646c3449d2e108eac200be4b594e9c400ecfe6',
  keyInitiatorToTerminator: '95a289eb7020da3c5f02b5c8567f92cd2d83bc8100629cb83ad217bf930379a8',
  keyTerminatorToInitiator: 'a681c6339addbdf5577c517f3783715ed6cc963457079297a2a5d2e6d8386cd6',
  sessionId: 'ec87d82154d7d262f74813ebc5d14773',
  keyInitiatorToTerminatorEpoch1: '50e623a13e2231e9fcf560604d5394dad9f9c95e6040ac9caee27d3d6c2a0812',
  keyInitiatorToTerminatorEpoch2: 'c0bc223958c7f71e628ed8a8b71dd9933c988cc6126fea80cdf103c788842cd2',
  /** I→T, epoch 0, counter 0, plaintext "fast ferry armor kat 0". */
  frameIEpoch0Counter0:
    '30000000000000000000000000abc70139cfc55f80243c92d89f753a2d02338e39a715002443116339b3cdc25d4485060cda36',
  /** I→T, epoch 1, counter 3, plaintext "fast ferry armor kat 3" (after a rekey at 3 messages). */
  frameIEpoch1Counter3:
    '3000000001000000000000000382bafe788082c84bbcfbc393ba3cf78f214892b0779e405caf6329c8d08cce9bc0cb73ed8d8e',
  /** T→I, epoch 0, counter 0, plaintext "fast ferry armor kat reply". */
  frameTEpoch0Counter0:
    '30000000000000000000000000572520e8c9e8a38e7d66de89fb7fed27ee76f3f9ee56d25027e8326675cbfd80825a1ef2315c335df837',
};

const ltInitiator = createPrivateKey(LT_I_PRIVATE_PEM);
const ltTerminator = createPrivateKey(LT_T_PRIVATE_PEM);

/** Runs the whole handshake on the fixed inputs and returns both sessions. */
function fixedHandshake(messages = 1_000_000): { initiator: ArmorSession; terminator: ArmorSession } {
  const common = { exporter: hex(EXPORTER), rekey: { intervalMs: 3_600_000, messages }, now: () => 0 };
  const i = new ArmorHandshake({
    ...common,
    role: 'initiator',
    localPrivateKey: ltInitiator,
    peerPublicKey: createPublicKey(ltTerminator),
    ephemeral: { privateKey: createPrivateKey(EPH_I_PRIVATE_PEM), nonce: hex(NONCE_I) },
  });
  const t = new ArmorHandshake({
    ...common,
    role: 'terminator',
    localPrivateKey: ltTerminator,
    peerPublicKey: createPublicKey(ltInitiator),
    ephemeral: { privateKey: createPrivateKey(EPH_T_PRIVATE_PEM), nonce: hex(NONCE_T) },
  });
  const init = i.start();
  assert.ok(init);
  const resp = t.receive(init).reply;
  assert.ok(resp);
  const { reply: finish, session: initiator } = i.receive(resp);
  assert.ok(finish && initiator);
  const { session: terminator } = t.receive(finish);
  assert.ok(terminator);
  return { initiator, terminator };
}

describe('armor KAT: key schedule (fixtures computed with openssl)', () => {
  it('hashes the transcript to the expected TH1', () => {
    const transcript = new Transcript(hex(EXPORTER), spkiOf(ltInitiator), spkiOf(ltTerminator));
    transcript.update(hex(`2001${EXPECTED.ephIPublic}${NONCE_I}`));
    transcript.update(hex(`2101${EXPECTED.ephTPublic}${NONCE_T}`));
    assert.equal(transcript.snapshot().toString('hex'), EXPECTED.th1);
  });

  it('derives the expected direction keys and session id from the shared secret and TH1', () => {
    const keys = deriveSessionKeys(hex(EXPECTED.shared), hex(EXPECTED.th1));
    assert.equal(keys.initiatorToTerminator.toString('hex'), EXPECTED.keyInitiatorToTerminator);
    assert.equal(keys.terminatorToInitiator.toString('hex'), EXPECTED.keyTerminatorToInitiator);
    assert.equal(keys.sessionId.toString('hex'), EXPECTED.sessionId);
  });

  it('ratchets a key to the expected next keys', () => {
    const epoch1 = ratchetKey(hex(EXPECTED.keyInitiatorToTerminator));
    assert.equal(epoch1.toString('hex'), EXPECTED.keyInitiatorToTerminatorEpoch1);
    assert.equal(ratchetKey(epoch1).toString('hex'), EXPECTED.keyInitiatorToTerminatorEpoch2);
  });

  it('a full handshake on the fixed inputs exposes the expected session id and ephemeral keys', () => {
    const { initiator, terminator } = fixedHandshake();
    assert.deepEqual(initiator.identity, {
      sessionId: EXPECTED.sessionId,
      localEphemeral: EXPECTED.ephIPublic,
      peerEphemeral: EXPECTED.ephTPublic,
    });
    assert.deepEqual(terminator.identity, {
      sessionId: EXPECTED.sessionId,
      localEphemeral: EXPECTED.ephTPublic,
      peerEphemeral: EXPECTED.ephIPublic,
    });
  });

  it('a full handshake on the fixed inputs seals byte-exact frames in both directions', () => {
    const { initiator, terminator } = fixedHandshake();
    assert.equal(initiator.seal(Buffer.from('fast ferry armor kat 0')).toString('hex'), EXPECTED.frameIEpoch0Counter0);
    assert.equal(terminator.seal(Buffer.from('fast ferry armor kat reply')).toString('hex'), EXPECTED.frameTEpoch0Counter0);
    assert.equal(terminator.open(hex(EXPECTED.frameIEpoch0Counter0)).toString(), 'fast ferry armor kat 0');
    assert.equal(initiator.open(hex(EXPECTED.frameTEpoch0Counter0)).toString(), 'fast ferry armor kat reply');
  });

  it('after a rekey at 3 messages, the 4th frame is sealed byte-exact under the ratcheted key, counter 3', () => {
    const { initiator, terminator } = fixedHandshake(3);
    for (let n = 0; n < 3; n++) terminator.open(initiator.seal(Buffer.from(`fast ferry armor kat ${n}`)));
    const fourth = initiator.seal(Buffer.from('fast ferry armor kat 3'));
    assert.equal(fourth.toString('hex'), EXPECTED.frameIEpoch1Counter3);
    assert.equal(terminator.open(fourth).toString(), 'fast ferry armor kat 3');
    assert.deepEqual({ ...initiator.rekeys }, { send: 1, receive: 0 });
    assert.deepEqual({ ...terminator.rekeys }, { send: 0, receive: 1 });
  });
});
