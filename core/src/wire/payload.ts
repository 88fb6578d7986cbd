/** Message payloads are UTF-8 JSON. A payload that does not parse is the sender's bug, named as such. */
import { FerryError, messageOf } from '../errors.js';
import { HEADROOM_BYTES } from './constants.js';

/** Parses the payload at `start`..`end` of `buf` (the whole buffer by default). */
export function parsePayload(buf: Buffer, start = 0, end = buf.length): unknown {
  try {
    return JSON.parse(buf.toString('utf8', start, end));
  } catch (err) {
    throw new FerryError('FERRY_ERR_BAD_FRAME', `message payload is not valid UTF-8 JSON: ${messageOf(err)}`);
  }
}

/**
 * The JSON text of a message, checked to fit in one WebSocket message. Kept as a string: the
 * encoder writes it straight into the batch, which saves a Buffer and a copy per message.
 */
export function encodePayload(message: object, maxPayloadBytes: number): string {
  let text: string;
  try {
    text = JSON.stringify(message);
  } catch (err) {
    throw new FerryError('FERRY_ERR_HOOK_RESULT', `the message cannot be sent as JSON: ${messageOf(err)}`, { cause: err });
  }
  const limit = maxPayloadBytes - HEADROOM_BYTES;
  // UTF-8 needs at most 3 bytes per UTF-16 unit: the exact length is only counted near the limit.
  if (text.length * 3 > limit) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > limit) throw new FerryError('FERRY_ERR_PAYLOAD_TOO_BIG', `message of ${bytes} bytes exceeds session.maxPayloadBytes (${maxPayloadBytes}) minus ${HEADROOM_BYTES} bytes of framing`);
  }
  return text;
}
