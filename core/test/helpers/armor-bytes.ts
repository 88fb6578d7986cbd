/**
 * What byte 0 says about an armor message, for tests that check a message's kind. The runtime
 * never needs to ask: it knows which phase it is in, and the codec refuses what does not fit.
 */
import { MessageType } from '../../src/armor/constants.js';

/** True when byte 0 marks an armor handshake message (0x20–0x22). */
export function isArmorHandshakeMessage(buf: Buffer): boolean {
  const type = buf[0];
  return type === MessageType.INIT || type === MessageType.RESP || type === MessageType.FINISH;
}

/** True when byte 0 marks a sealed (encrypted) frame (0x30). */
export function isArmorSealedFrame(buf: Buffer): boolean {
  return buf[0] === MessageType.SEALED;
}
