/**
 * The initiator's HTTP API. POST /trigger runs on_trigger and answers only after the terminator
 * acknowledged the message (its hook ran), so a 200 means delivered. The body is read as JSON
 * whatever its content type, except application/octet-stream: that body reaches on_trigger as
 * bytes (a Buffer), under the same http.bodyLimitBytes. Every refusal names its
 * cause with a FERRY_ERR_* code, and its status is that code's `http` in the error table
 * (errors.ts): 400 an empty body, bad JSON, a non-object, nesting too deep or a body its
 * Content-Encoding cannot decode, 408 too slow to arrive, 413 too large, 415 an encoding or
 * charset it cannot read, 422 the hook refused, 502 the peer's hook failed, 503 + Retry-After
 * no session / outbox full / draining, 504 no ack in time. Nothing a client sends is a 500.
 * With a token (http.triggerTokenFile), a request without `Authorization: Bearer <token>` is
 * answered 401 FERRY_ERR_UNAUTHORIZED before its body is read.
 *
 * This app serves /trigger only, on its own port (http.triggerPort); the probes and /metrics
 * are on http.port (probes.ts), so each port can be admitted to different callers.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorCodes, FerryError, HookError, isFerryError, messageOf, type ErrorCode } from '../errors.js';
import type { Delivery } from '../session/delivery.js';
import { addNotFound } from './probes.js';
import { requestTimedOutAfter } from './server.js';

export interface TriggerBackend {
  /** Runs on_trigger and sends its result; resolves when acknowledged. */
  trigger(payload: Record<string, unknown> | Buffer, headers: Record<string, string | string[] | undefined>): Promise<Delivery>;
  /** Seconds a refused caller should wait (Retry-After). */
  retryAfterSeconds(): number;
  /** A request refused before it reached on_trigger (bad JSON, not an object, too large): log and count it. */
  refused?(code: string, status: number, message: string): void;
}

/** The HTTP status of an answer carrying `code`; a code no HTTP answer is meant to carry is a 500. */
export function statusOf(code: ErrorCode): number {
  return ErrorCodes[code].http ?? ErrorCodes.FERRY_ERR_INTERNAL.http;
}

/**
 * How deeply objects and arrays may nest in a body. Sending a message serializes it with
 * JSON.stringify, which recurses and overflows near 4,000 levels (less inside a hook's own
 * stack), and hooks often walk payloads recursively too; a body nested beyond this bound is a
 * bug or an attack, so it is refused by name before on_trigger sees it. 64 is far above what
 * real messages use and far below any stack limit.
 */
export const MAX_BODY_DEPTH = 64;

export interface TriggerAppOptions {
  /** The bearer token POST /trigger must carry (readTriggerToken); none: no check. */
  token?: string;
}

export function createTriggerApp(backend: TriggerBackend, bodyLimitBytes: number, options: TriggerAppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  if (options.token !== undefined) app.use('/trigger', requireBearer(options.token, backend));
  // application/octet-stream is read as bytes. Any other content type is read as JSON: `curl -d
  // '{...}'` sends form encoding by default, and a caller should not need to know that.
  // Non-objects are let through to be refused by name. Both readers decode Content-Encoding and
  // fail with the same coded refusals; the JSON reader skips a body the bytes reader took.
  const readBytes = express.raw({ limit: bodyLimitBytes, type: OCTET_STREAM });
  const readJson = express.json({ limit: bodyLimitBytes, strict: false, type: () => true, verify: refuseEmpty });
  const readBody = (req: Request, res: Response, next: NextFunction): void => {
    const done = (err?: unknown): void => next(err === undefined ? undefined : bodyError(err, req, bodyLimitBytes));
    readBytes(req, res, (err?: unknown) => (err === undefined ? readJson(req, res, done) : done(err)));
  };
  app.post('/trigger', readBody, async (req: Request, res: Response) => {
    // An octet-stream request with no body at all (no Content-Length, not chunked) is zero
    // bytes, as is an empty one: bytes have no "empty" that could be mistaken for a message.
    const body: unknown = isOctetStream(req) && !Buffer.isBuffer(req.body) ? Buffer.alloc(0) : req.body;
    // No JSON body at all (neither Content-Length nor Transfer-Encoding) never reaches the parser.
    if (body === undefined) {
      refuse(res, backend, 'FERRY_ERR_BAD_REQUEST', EMPTY_BODY);
      return;
    }
    if (!Buffer.isBuffer(body) && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      refuse(res, backend, 'FERRY_ERR_BAD_REQUEST', `body must be a JSON object, got ${describe(body)}`);
      return;
    }
    if (!Buffer.isBuffer(body) && nestedDeeperThan(body, MAX_BODY_DEPTH)) {
      refuse(res, backend, 'FERRY_ERR_BAD_REQUEST', `body nests objects and arrays more than ${MAX_BODY_DEPTH} levels deep; at most ${MAX_BODY_DEPTH} are accepted`);
      return;
    }
    try {
      const delivery = await backend.trigger(body as Record<string, unknown> | Buffer, req.headers);
      res.json({ status: 'delivered', ...delivery });
    } catch (err) {
      sendError(res, err, backend);
    }
  });
  app.all('/trigger', (_req: Request, res: Response) => {
    res.status(statusOf('FERRY_ERR_METHOD')).set('allow', 'POST').json({ error: 'FERRY_ERR_METHOD', message: 'use POST /trigger with a JSON object body (or bytes as application/octet-stream)' });
  });
  addNotFound(app);
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (isFerryError(err)) {
      refuse(res, backend, err.code, err.message);
    } else {
      res.status(statusOf('FERRY_ERR_INTERNAL')).json({ error: 'FERRY_ERR_INTERNAL', message: messageOf(err) });
    }
  });
  return app;
}

const OCTET_STREAM = 'application/octet-stream';

function isOctetStream(req: Request): boolean {
  return req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() === OCTET_STREAM;
}

/**
 * The token of http.triggerTokenFile, read once at start-up (a rotated Secret takes a pod
 * restart). Surrounding whitespace is dropped: `kubectl create secret --from-file` keeps the
 * file's final newline, which no client sends. An unreadable or blank file is a start-up error.
 */
export function readTriggerToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FerryError('FERRY_ERR_CONFIG', `http.triggerTokenFile ${file} cannot be read (${messageOf(err)}); mount the token Secret there, or set http.triggerTokenFile to "" for no token`);
  }
  const token = text.trim();
  if (token === '') throw new FerryError('FERRY_ERR_CONFIG', `http.triggerTokenFile ${file} is empty; put the token in it, or set http.triggerTokenFile to "" for no token`);
  if (/\s/.test(token)) throw new FerryError('FERRY_ERR_CONFIG', `http.triggerTokenFile ${file} holds whitespace inside the token; a bearer token is one word`);
  return token;
}

/**
 * Refuses a request that does not carry the token, 401 + WWW-Authenticate. Both sides are
 * compared as SHA-256 digests with timingSafeEqual: equal lengths whatever was sent, and the
 * time taken says nothing about how much of the token a guess got right.
 */
function requireBearer(token: string, backend: TriggerBackend): (req: Request, res: Response, next: NextFunction) => void {
  const expected = createHash('sha256').update(token).digest();
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
    const presented = createHash('sha256').update(match?.[1] ?? '').digest();
    if (match !== null && timingSafeEqual(presented, expected)) {
      next();
      return;
    }
    res.set('www-authenticate', match === null ? 'Bearer realm="fast-ferry"' : 'Bearer realm="fast-ferry", error="invalid_token"');
    // The body is not read: close the connection rather than drain what a stranger sends.
    res.set('connection', 'close');
    refuse(res, backend, 'FERRY_ERR_UNAUTHORIZED', match === null ? 'POST /trigger needs an Authorization: Bearer <token> header (the token of http.triggerTokenFile)' : 'the bearer token does not match http.triggerTokenFile');
  };
}

const EMPTY_BODY = 'empty body: POST /trigger takes a JSON object, such as {"hello":"world"}';

/** Content encodings the body parser decodes (zstd too on a Node that has it). */
const DECODED_ENCODINGS = 'identity, gzip, deflate or br';

/**
 * body-parser reads an empty body as `{}`, which would send a message nobody wrote. It hands
 * the raw (decoded) bytes here before parsing: an empty or blank body is refused by name.
 */
function refuseEmpty(_req: unknown, _res: unknown, buf: Buffer): void {
  for (const byte of buf) {
    // JSON whitespace: space, tab, newline, carriage return.
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return;
  }
  throw new FerryError('FERRY_ERR_BAD_REQUEST', EMPTY_BODY);
}

/**
 * Each way reading the body can fail (body-parser's error `type`s), as the coded refusal a
 * client can act on. Only failures no request can cause (the stream was set up wrongly by
 * this code) stay as they are, to be answered 500.
 */
function bodyError(err: unknown, req: Request, bodyLimitBytes: number): unknown {
  if (isFerryError(err)) return err;
  const { type } = err as { type?: unknown };
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  switch (type) {
    case 'entity.parse.failed':
      return new FerryError('FERRY_ERR_BAD_REQUEST', `invalid JSON: ${messageOf(err)}`);
    case 'entity.too.large':
      return new FerryError('FERRY_ERR_PAYLOAD_TOO_BIG', `body larger than http.bodyLimitBytes (${bodyLimitBytes} bytes${encoding === 'identity' ? '' : ` once decoded from ${encoding}`})`);
    case 'encoding.unsupported':
      return new FerryError('FERRY_ERR_UNSUPPORTED_ENCODING', `Content-Encoding "${encoding}" is not supported; send the body as ${DECODED_ENCODINGS}`);
    case 'charset.unsupported':
      return new FerryError('FERRY_ERR_UNSUPPORTED_ENCODING', `${messageOf(err)} in Content-Type; send JSON as UTF-8 (or UTF-16/32)`);
    case 'request.aborted': {
      const timeoutMs = requestTimedOutAfter(req.socket);
      if (timeoutMs !== undefined) return new FerryError('FERRY_ERR_REQUEST_TIMEOUT', `the body did not arrive within ${timeoutMs} ms of the request starting; the connection was closed`);
      return new FerryError('FERRY_ERR_BAD_REQUEST', 'the client closed the connection before the body was complete');
    }
    case 'request.size.invalid':
      return new FerryError('FERRY_ERR_BAD_REQUEST', 'the body length does not match its Content-Length');
    case 'stream.encoding.set':
    case 'stream.not.readable':
      return err;
    default:
      // Untyped: the decompressor refused the bytes (or the request stream itself failed).
      if (encoding !== 'identity') {
        return new FerryError('FERRY_ERR_BAD_REQUEST', `body is not valid ${encoding} data (Content-Encoding: ${encoding}): ${messageOf(err)}`);
      }
      return new FerryError('FERRY_ERR_BAD_REQUEST', `could not read the body: ${messageOf(err)}`);
  }
}

/**
 * Whether objects and arrays nest more than `limit` deep in a parsed body. Iterative, with
 * an explicit stack, so measuring a body nested thousands of levels cannot itself overflow.
 */
export function nestedDeeperThan(value: object, limit: number): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop() as number;
    if (depth > limit) return true;
    const children = Array.isArray(current) ? current : Object.values(current as object);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

function refuse(res: Response, backend: TriggerBackend, code: ErrorCode, message: string): void {
  const status = statusOf(code);
  backend.refused?.(code, status, message);
  res.status(status).json({ error: code, message });
}

function sendError(res: Response, err: unknown, backend: TriggerBackend): void {
  if (!isFerryError(err)) {
    res.status(statusOf('FERRY_ERR_INTERNAL')).json({ error: 'FERRY_ERR_INTERNAL', message: messageOf(err) });
    return;
  }
  const status = statusOf(err.code);
  if (status === 503) res.set('retry-after', String(backend.retryAfterSeconds()));
  const extra = err instanceof HookError ? { hook: err.hook } : {};
  const delivery = (err as FerryError & { delivery?: Delivery }).delivery;
  res.status(status).json({ error: err.code, message: err.message, ...extra, ...(delivery ? { id: delivery.id, seq: delivery.seq } : {}) });
}

/** A parsed body that is not an object, in words: "a string", "an array", "null". */
function describe(value: unknown): string {
  if (value === undefined) return 'an empty body';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`;
}
