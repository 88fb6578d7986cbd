/** Message payloads are UTF-8 JSON. A payload that does not parse is the sender's bug, named as such. */
import { FerryError, messageOf } from '../errors.js';

export function parsePayload(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new FerryError('FERRY_ERR_BAD_FRAME', `message payload is not valid UTF-8 JSON: ${messageOf(err)}`);
  }
}
