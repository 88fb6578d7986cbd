/**
 * Message payloads: a JSON value (sent as UTF-8 JSON text) or bytes (a Buffer or Uint8Array,
 * sent as they are). The DATA frame's flags say which (see constants.ts), and the receiver hands
 * the hook the parsed value or a Buffer. Anything JSON.stringify would silently turn into
 * something else that still looks like data is refused by name instead (FERRY_ERR_BAD_PAYLOAD):
 * bytes inside a JSON value (a Buffer would arrive as {"type":"Buffer","data":[…]}), and objects
 * that carry nothing JSON can see (a Map, a Set, a RegExp: they would arrive as {}).
 */
import { FerryError, messageOf } from '../errors.js';
import { FLAG_BYTES, HEADROOM_BYTES, KIND_MASK } from './constants.js';

/** What an app sends: a JSON object or bytes. */
export type Payload = Record<string, unknown> | Uint8Array;

/**
 * A message ready for an Outbox: its JSON text (a string) or its bytes (the caller's own
 * Uint8Array, not copied: the writer copies it into the batch).
 */
export type EncodedPayload = string | Uint8Array;

/**
 * Parses the payload at `start`..`end` of `buf` according to the DATA `flags`: bytes come back
 * as a view of `buf` (no copy; see FrameVisitor.data for why that is safe to keep), JSON parsed.
 */
export function parsePayload(buf: Buffer, start = 0, end = buf.length, flags = 0): unknown {
  if ((flags & KIND_MASK) === FLAG_BYTES) return buf.subarray(start, end);
  try {
    return JSON.parse(buf.toString('utf8', start, end));
  } catch (err) {
    throw new FerryError('FERRY_ERR_BAD_FRAME', `message payload is not valid UTF-8 JSON: ${messageOf(err)}`);
  }
}

/**
 * A message as it goes into an Outbox, checked to fit in one WebSocket message: bytes as they
 * are, anything else as its JSON text. JSON is kept as a string: the encoder writes it straight
 * into the batch, which saves a Buffer and a copy per message.
 */
export function encodePayload(message: unknown, maxPayloadBytes: number): EncodedPayload {
  const limit = maxPayloadBytes - HEADROOM_BYTES;
  if (message instanceof Uint8Array) {
    if (message.length > limit) throw tooBig(message.length, maxPayloadBytes);
    return message;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(message);
  } catch (err) {
    throw new FerryError('FERRY_ERR_BAD_PAYLOAD', `the message cannot be sent as JSON: ${messageOf(err)}`, { cause: err });
  }
  if (text === undefined) throw new FerryError('FERRY_ERR_BAD_PAYLOAD', `a message must be a JSON value or bytes (a Buffer or Uint8Array), got ${describeKind(message)}`);
  if (typeof message === 'object' && message !== null) {
    // After stringify, which has refused cycles: the walk cannot loop.
    const problem = findNonJson(message);
    if (problem !== undefined) throw new FerryError('FERRY_ERR_BAD_PAYLOAD', problem);
  }
  // UTF-8 needs at most 3 bytes per UTF-16 unit: the exact length is only counted near the limit.
  if (text.length * 3 > limit) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > limit) throw tooBig(bytes, maxPayloadBytes);
  }
  return text;
}

/**
 * Where in `value` JSON.stringify would have turned bytes or a data structure into a lookalike,
 * as a sentence naming the path and the fix; undefined when it is plain JSON. Plain objects and
 * arrays are walked, primitives skipped without a call and the path built only for a refusal
 * (this runs once per message); an object with its own toJSON (a Date) is the class's choice and
 * is not looked into, and an instance of another class is sent as its fields, as JSON does.
 * Values JSON drops (undefined, a function, a symbol as a property) are dropped as
 * JSON.stringify does, so an optional field left undefined still sends.
 */
export function findNonJson(value: object): string | undefined {
  const found = walk(value, 0);
  if (found === undefined) return undefined;
  const path = `$${found.path.reverse().join('')}`;
  return found.problem.replace(PATH, () => path);
}

/** Stands for the path in a problem's sentence until the walk has unwound. */
const PATH = '\u0000';
/** Deeper than this is refused rather than walked (the walk recurses; JSON.stringify went first). */
const MAX_WALK_DEPTH = 1000;

interface Found {
  problem: string;
  /** Path segments, innermost first. */
  path: string[];
}

function walk(value: object, depth: number): Found | undefined {
  if (depth > MAX_WALK_DEPTH) return { problem: `the message is nested more than ${MAX_WALK_DEPTH} levels deep at ${PATH}`, path: [] };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) {
        const found = walk(item, depth + 1);
        if (found !== undefined) {
          found.path.push(`[${i}]`);
          return found;
        }
      }
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const problem = refusedObject(value);
    return problem === undefined ? undefined : { problem, path: [] };
  }
  for (const key in value) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null) {
      const found = walk(item, depth + 1);
      if (found !== undefined) {
        found.path.push(/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
        return found;
      }
    }
  }
  return undefined;
}

/** A non-plain object inside a JSON message: refused unless it serialises itself (toJSON) or has fields. */
function refusedObject(value: object): string | undefined {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    return `${PATH} is ${describeKind(value)} inside a JSON message: JSON would send it as ${Buffer.isBuffer(value) ? '{"type":"Buffer","data":[…]}' : 'an object of numbers'}. Send bytes on their own (write(buffer)), or encode them into a string (base64) yourself`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  // new Number(1), new Boolean(true), new String('a'): JSON sends the value inside.
  if (value instanceof Number || value instanceof Boolean || value instanceof String) return undefined;
  if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof WeakSet || Object.keys(value).length === 0) {
    return `${PATH} is ${describeKind(value)}, which JSON would send as {}: convert it to a plain object or array first (e.g. Object.fromEntries(map), [...set])`;
  }
  return undefined;
}

function describeKind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (Buffer.isBuffer(value)) return 'a Buffer';
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object without a prototype';
}

function tooBig(bytes: number, maxPayloadBytes: number): FerryError {
  return new FerryError('FERRY_ERR_PAYLOAD_TOO_BIG', `message of ${bytes} bytes exceeds session.maxPayloadBytes (${maxPayloadBytes}) minus ${HEADROOM_BYTES} bytes of framing`);
}
