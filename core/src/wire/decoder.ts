/**
 * Reads the frames of one WebSocket message (or one opened armor seal). The message boundary
 * comes from the WebSocket layer, so a frame never spans two messages: a frame that does not
 * fit in what is left is truncated, and truncation is an error, never a wait.
 *
 * An explicit state machine in one loop (after ws's receiver.js): READ_TYPE, then the state
 * for that type's header, then its body. Frames are handed to a visitor as they are read, so
 * the hot path allocates no frame objects, and a payload is handed over as its place in the
 * received buffer (no Buffer view per message).
 */
import { FerryError } from '../errors.js';
import {
  ACK_BYTES,
  CONTROL_HEADER_BYTES,
  DATA_HEADER_BYTES,
  FLAG_BYTES,
  FrameType,
  KIND_MASK,
  KIND_SHIFT,
  MAX_CONTROL_BYTES,
  NACK_HEADER_BYTES,
} from './constants.js';

export interface FrameVisitor {
  control(type: typeof FrameType.HELLO | typeof FrameType.WELCOME, body: unknown): void;
  /**
   * The payload is `buf` from `start` to `end`; its kind is in `flags` (checked to be a known
   * one). `buf` is never written again (a received WebSocket message or an opened seal), so a
   * view of it may be kept.
   */
  data(seq: number, flags: number, buf: Buffer, start: number, end: number): void;
  ack(seq: number): void;
  nack(seq: number, reason: string): void;
}

const enum State {
  READ_TYPE = 0,
  CONTROL = 1,
  DATA = 2,
  ACK = 3,
  NACK = 4,
}

export function decodeFrames(buf: Buffer, visitor: FrameVisitor): number {
  let offset = 0;
  let count = 0;
  let state: State = State.READ_TYPE;
  while (offset < buf.length) {
    switch (state) {
      case State.READ_TYPE: {
        const type = buf[offset] as number;
        if (type === FrameType.DATA) state = State.DATA;
        else if (type === FrameType.ACK) state = State.ACK;
        else if (type === FrameType.NACK) state = State.NACK;
        else if (type === FrameType.HELLO || type === FrameType.WELCOME) state = State.CONTROL;
        else throw badFrame(`unknown frame type 0x${type.toString(16).padStart(2, '0')}`, offset);
        break;
      }
      case State.DATA: {
        need(buf, offset, DATA_HEADER_BYTES, 'DATA header');
        const flags = buf[offset + 1] as number;
        if ((flags & KIND_MASK) > FLAG_BYTES) throw badFrame(`unknown payload kind ${(flags & KIND_MASK) >> KIND_SHIFT} in DATA flags 0x${flags.toString(16).padStart(2, '0')} (known: 0 JSON, 1 bytes)`, offset);
        const seq = buf.readUIntBE(offset + 2, 6);
        const length = buf.readUInt32BE(offset + 8);
        const start = offset + DATA_HEADER_BYTES;
        need(buf, start, length, 'DATA payload');
        offset = start + length;
        count += 1;
        state = State.READ_TYPE;
        visitor.data(seq, flags, buf, start, offset);
        break;
      }
      case State.ACK: {
        need(buf, offset, ACK_BYTES, 'ACK');
        const seq = buf.readUIntBE(offset + 1, 6);
        offset += ACK_BYTES;
        count += 1;
        state = State.READ_TYPE;
        visitor.ack(seq);
        break;
      }
      case State.NACK: {
        need(buf, offset, NACK_HEADER_BYTES, 'NACK header');
        const seq = buf.readUIntBE(offset + 1, 6);
        const length = buf.readUInt16BE(offset + 7);
        const start = offset + NACK_HEADER_BYTES;
        need(buf, start, length, 'NACK reason');
        offset = start + length;
        count += 1;
        state = State.READ_TYPE;
        visitor.nack(seq, buf.toString('utf8', start, offset));
        break;
      }
      case State.CONTROL: {
        const type = buf[offset] as typeof FrameType.HELLO | typeof FrameType.WELCOME;
        need(buf, offset, CONTROL_HEADER_BYTES, 'control header');
        const length = buf.readUInt32BE(offset + 1);
        if (length > MAX_CONTROL_BYTES) throw badFrame(`control frame body of ${length} bytes exceeds ${MAX_CONTROL_BYTES}`, offset);
        const start = offset + CONTROL_HEADER_BYTES;
        need(buf, start, length, 'control body');
        let body: unknown;
        try {
          body = JSON.parse(buf.toString('utf8', start, start + length));
        } catch {
          throw badFrame('control frame body is not valid JSON', offset);
        }
        offset = start + length;
        count += 1;
        state = State.READ_TYPE;
        visitor.control(type, body);
        break;
      }
    }
  }
  return count;
}

function need(buf: Buffer, offset: number, bytes: number, what: string): void {
  if (offset + bytes > buf.length) {
    throw badFrame(`${what} truncated: needs ${bytes} bytes at offset ${offset}, ${buf.length - offset} left`, offset);
  }
}

function badFrame(reason: string, offset: number): FerryError {
  return new FerryError('FERRY_ERR_BAD_FRAME', `bad frame at offset ${offset}: ${reason}`);
}
