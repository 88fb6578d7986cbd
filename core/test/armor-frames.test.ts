/**
 * The armor handshake codec (core/src/armor/frames.ts), white-box, with wire fixtures in hex:
 * exact layouts, and a clear FERRY_ERR_ARMOR_HANDSHAKE reason for every malformed message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeHandshakeMessage,
  describeMessageType,
  encodeFinish,
  encodeInit,
  encodeRespSignedPart,
  encodeRespWithSignature,
} from '../src/armor/frames.js';
import { ArmorError } from '../src/errors.js';
import { isArmorHandshakeMessage, isArmorSealedFrame } from './helpers/armor-bytes.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const EPH = hex('aa'.repeat(32));
const NONCE = hex('bb'.repeat(32));
const SIG = hex('cc'.repeat(64));

const INIT_HEX = `2001 ${'aa'.repeat(32)} ${'bb'.repeat(32)}`;
const RESP_HEX = `2101 ${'aa'.repeat(32)} ${'bb'.repeat(32)} 0040 ${'cc'.repeat(64)}`;
const FINISH_HEX = `2201 0040 ${'cc'.repeat(64)}`;

function assertRefused(buf: Buffer, reason: RegExp): void {
  assert.throws(
    () => decodeHandshakeMessage(buf),
    (err: unknown) =>
      err instanceof ArmorError && err.code === 'FERRY_ERR_ARMOR_HANDSHAKE' && reason.test(err.message),
  );
}

describe('armor frames: encoding', () => {
  it('encodes INIT as 0x20 | version 1 | ephemeral key | nonce (66 bytes)', () => {
    assert.equal(encodeInit(EPH, NONCE).toString('hex'), hex(INIT_HEX).toString('hex'));
  });

  it('encodes RESP as 0x21 | version 1 | ephemeral key | nonce | u16 signature length | signature', () => {
    const resp = encodeRespWithSignature(encodeRespSignedPart(EPH, NONCE), SIG);
    assert.equal(resp.toString('hex'), hex(RESP_HEX).toString('hex'));
  });

  it('encodes FINISH as 0x22 | version 1 | u16 signature length | signature', () => {
    assert.equal(encodeFinish(SIG).toString('hex'), hex(FINISH_HEX).toString('hex'));
  });

  it('refuses to encode wrong-sized fields (a bug on this side) with a TypeError', () => {
    assert.throws(() => encodeInit(EPH.subarray(1), NONCE), TypeError);
    assert.throws(() => encodeFinish(Buffer.alloc(0)), TypeError);
    assert.throws(() => encodeFinish(Buffer.alloc(133)), TypeError);
  });
});

describe('armor frames: decoding', () => {
  it('decodes the three messages back into their fields', () => {
    const init = decodeHandshakeMessage(hex(INIT_HEX));
    assert.equal(init.type, 0x20);
    assert.ok(init.type === 0x20 && init.ephemeralPublicKey.equals(EPH) && init.nonce.equals(NONCE));
    const resp = decodeHandshakeMessage(hex(RESP_HEX));
    assert.ok(resp.type === 0x21 && resp.ephemeralPublicKey.equals(EPH) && resp.nonce.equals(NONCE) && resp.signature.equals(SIG));
    const finish = decodeHandshakeMessage(hex(FINISH_HEX));
    assert.ok(finish.type === 0x22 && finish.signature.equals(SIG));
  });

  it('refuses a truncated INIT, naming its length and the expected one', () => {
    assertRefused(hex(INIT_HEX).subarray(0, 65), /^INIT \(0x20\) truncated: 65 byte\(s\), expected 66$/);
  });

  it('refuses an INIT with trailing bytes', () => {
    assertRefused(Buffer.concat([hex(INIT_HEX), hex('00')]), /^INIT \(0x20\) has 1 trailing byte\(s\)/);
  });

  it('refuses a RESP cut inside its signature', () => {
    assertRefused(hex(RESP_HEX).subarray(0, 100), /^RESP \(0x21\) truncated: 100 byte\(s\), expected 132$/);
  });

  it('refuses a RESP cut before its signature length', () => {
    assertRefused(hex(RESP_HEX).subarray(0, 67), /^RESP \(0x21\) truncated: 67 byte\(s\), need at least 68/);
  });

  it('refuses a RESP with trailing bytes after the signature', () => {
    assertRefused(Buffer.concat([hex(RESP_HEX), hex('0000')]), /^RESP \(0x21\) has 2 trailing byte\(s\)/);
  });

  it('refuses a FINISH declaring a zero-length or oversized signature', () => {
    assertRefused(hex('2201 0000'), /declares a 0-byte signature/);
    assertRefused(hex(`2201 ffff ${'cc'.repeat(64)}`), /declares a 65535-byte signature/);
  });

  it('refuses a message with only a type byte', () => {
    assertRefused(hex('22'), /^FINISH \(0x22\) truncated: 1 byte\(s\), no version byte$/);
  });

  it('refuses an empty message', () => {
    assertRefused(Buffer.alloc(0), /got an empty message/);
  });

  it('refuses an unknown type byte, a session frame and a sealed frame', () => {
    assertRefused(hex('7f01'), /got unknown type 0x7f/);
    assertRefused(hex('0101'), /got unknown type 0x01/);
    assertRefused(hex(`30${'00'.repeat(40)}`), /got unknown type 0x30/);
  });

  it('refuses another armor version, naming both', () => {
    const v2 = hex(INIT_HEX);
    v2[1] = 2;
    assertRefused(v2, /^INIT \(0x20\) has armor version 2; this side speaks version 1$/);
  });

  it('refuses garbage', () => {
    assertRefused(hex('deadbeef'), /unknown type 0xde/);
  });
});

describe('armor frames: classification by byte 0', () => {
  it('tells handshake messages, sealed frames and session-layer frames apart', () => {
    assert.equal(isArmorHandshakeMessage(hex(INIT_HEX)), true);
    assert.equal(isArmorHandshakeMessage(hex(FINISH_HEX)), true);
    assert.equal(isArmorSealedFrame(hex('30')), true);
    assert.equal(isArmorSealedFrame(hex(INIT_HEX)), false);
    assert.equal(isArmorHandshakeMessage(hex('1f')), false);
    assert.equal(isArmorSealedFrame(Buffer.alloc(0)), false);
  });

  it('describes message types for logs', () => {
    assert.equal(describeMessageType(0x21), 'RESP (0x21)');
    assert.equal(describeMessageType(0x05), 'unknown type 0x05');
    assert.equal(describeMessageType(undefined), 'an empty message');
  });
});
