/**
 * Row raw-tls-sealed, bytes and structured JSON (protocol.ts: ROW_PAYLOADS): the tunnel's
 * floor. The raw TLS socket and length-prefixed frames of raw-tls.ts, each message sealed
 * before it is framed and opened after it is read by the armor's own ArmorSession (AES-256-GCM
 * in node:crypto, the default rekey policy); JSON is stringified into a Buffer before the seal
 * and parsed after the open, the work plain ws does too. It measures what that AEAD work
 * costs on top of TLS, which every sender in armor mode `tunnel` does.
 *
 * It loads the armor and the config schema, not all of core (nor does raw-tls.ts): with core's
 * whole module graph in the process, V8 ran an early mark-compact and then one every ~130 ms in
 * a bytes flood (the old generation's limit set from the small heap it found), and the raw TLS
 * socket sent half as many 16 KiB messages (25k against 50k msgs/s).
 */
import { ArmorSession } from '@fast-ferry/core/armor';
import { CONFIG_SCHEMA } from '@fast-ferry/core/config/schema';
import type { Payload, Sink } from '../message.js';
import { carries, payloadsOf, type PeerArgs } from '../protocol.js';
import { dial, listen, readFrames, whenDrained, writeFrame } from './raw-tls.js';
import type { Receiver, SenderConnection, Transport } from './types.js';

/**
 * Fixed keys, one per direction: the floor measures the sealed data path, and the key
 * exchange, once per session, is no part of it. Never a pattern for real keys.
 */
const SENDER_KEY = 0x5e;
const RECEIVER_KEY = 0x7e;

function armorSession(role: 'sender' | 'receiver'): ArmorSession {
  const [send, receive] = role === 'sender' ? [SENDER_KEY, RECEIVER_KEY] : [RECEIVER_KEY, SENDER_KEY];
  return new ArmorSession({
    sendKey: Buffer.alloc(32, send),
    receiveKey: Buffer.alloc(32, receive),
    identity: { sessionId: 'bench-floor', localEphemeral: '', peerEphemeral: '' },
    rekey: { intervalMs: CONFIG_SCHEMA['armor.rekeyIntervalMs'].default, messages: CONFIG_SCHEMA['armor.rekeyMessages'].default },
  });
}

export const rawTlsSealed: Transport = {
  receive(args: PeerArgs, sink: Sink): Promise<Receiver> {
    if (!carries('raw-tls-sealed', args.payload)) throw new TypeError(`row raw-tls-sealed carries ${payloadsOf('raw-tls-sealed').join(' and ')} only, not ${args.payload}`);
    const json = args.payload !== 'bytes';
    return listen(args, (socket) => {
      const armor = armorSession('receiver');
      readFrames(socket, sink, json ? (frame) => JSON.parse(armor.open(frame).toString('utf8')) : (frame) => armor.open(frame));
    });
  },

  async connect(args: PeerArgs): Promise<SenderConnection> {
    const socket = await dial(args);
    const armor = armorSession('sender');
    return {
      send(payload: Payload): boolean {
        return writeFrame(socket, armor.seal(Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), 'utf8')));
      },
      writable: () => whenDrained(socket),
    };
  },
};
