/**
 * The initiator's HTTP API. POST /trigger runs on_trigger and answers only after the terminator
 * acknowledged the message (its hook ran), so a 200 means delivered. The body is read as JSON
 * whatever its content type, except application/octet-stream: that body reaches on_trigger as
 * bytes (a Buffer), under the same http.bodyLimitBytes. Every refusal names its
 * cause with a FERRY_ERR_* code, and its status is that code's `http` in the error table
 * (errors.ts): 400 bad JSON or a non-object, 413 too large, 422 the hook refused, 502 the peer's
 * hook failed, 503 + Retry-After no session / outbox full / draining, 504 no ack in time.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { ErrorCodes, FerryError, HookError, isFerryError, messageOf, type ErrorCode } from '../errors.js';
import type { Delivery } from '../session/delivery.js';
import { addNotFound, addProbeRoutes, type Readiness } from './probes.js';

export interface TriggerBackend {
  /** Runs on_trigger and sends its result; resolves when acknowledged. */
  trigger(payload: Record<string, unknown> | Buffer, headers: Record<string, string | string[] | undefined>): Promise<Delivery>;
  readiness(): Readiness;
  /** Seconds a refused caller should wait (Retry-After). */
  retryAfterSeconds(): number;
  /** A request refused before it reached on_trigger (bad JSON, not an object, too large): log and count it. */
  refused?(code: string, status: number, message: string): void;
}

/** The HTTP status of an answer carrying `code`; a code no HTTP answer is meant to carry is a 500. */
export function statusOf(code: ErrorCode): number {
  return ErrorCodes[code].http ?? ErrorCodes.FERRY_ERR_INTERNAL.http;
}

export function createTriggerApp(backend: TriggerBackend, registry: Registry, bodyLimitBytes: number): Express {
  const app = express();
  app.disable('x-powered-by');
  // application/octet-stream is read as bytes. Any other content type is read as JSON: `curl -d
  // '{...}'` sends form encoding by default, and a caller should not need to know that.
  // Non-objects are let through to be refused by name.
  const bytesParser = express.raw({ limit: bodyLimitBytes, type: OCTET_STREAM });
  const jsonParser = express.json({ limit: bodyLimitBytes, strict: false, type: () => true });
  app.post('/trigger', bytesParser, jsonParser, async (req: Request, res: Response) => {
    // A request with no body at all (no Content-Length, not chunked) is zero bytes.
    const body: unknown = isOctetStream(req) && !Buffer.isBuffer(req.body) ? Buffer.alloc(0) : req.body;
    if (!Buffer.isBuffer(body) && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      refuse(res, backend, 'FERRY_ERR_BAD_REQUEST', `body must be a JSON object, got ${describe(body)}`);
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
  addProbeRoutes(app, () => backend.readiness(), registry);
  addNotFound(app);
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const type = (err as { type?: unknown }).type;
    if (type === 'entity.parse.failed') {
      refuse(res, backend, 'FERRY_ERR_BAD_REQUEST', `invalid JSON: ${messageOf(err)}`);
    } else if (type === 'entity.too.large') {
      refuse(res, backend, 'FERRY_ERR_PAYLOAD_TOO_BIG', `body larger than http.bodyLimitBytes (${bodyLimitBytes} bytes)`);
    } else if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      refuse(res, backend, 'FERRY_ERR_UNSUPPORTED_ENCODING', messageOf(err));
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

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}
