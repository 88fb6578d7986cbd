/**
 * A FrameChannel carries batches of session frames over one WebSocket. The session layer does
 * not know whether the batches travel as plain binary messages (armor mode `tls`) or sealed
 * under the session armor (mode `tunnel`); both implement this interface.
 */
import type WebSocket from 'ws';
import { FerryError } from '../errors.js';

export interface ChannelHandlers {
  /** Each received batch of frames, in order. */
  onBatch(batch: Buffer): void;
  /** An error that ends the session (a text frame, a frame the armor refused). */
  onError(err: FerryError): void;
  /** Once, when the connection is gone, whatever ended it. */
  onClose(code: number, reason: string): void;
}

export interface FrameChannel {
  /**
   * Sends one batch of frames as one WebSocket message. `done` is called once the channel no
   * longer needs `batch` (written to the socket, copied, or dropped with a closed connection):
   * only then may its memory be written again. A channel that never calls it just keeps that
   * memory from being reused.
   */
  send(batch: Buffer, done?: () => void): void;
  /** Ends the connection with a WebSocket close code and a short reason (≤ 123 bytes). */
  close(code: number, reason: string): void;
  /** Stops / restarts reading from the socket (receiver backpressure). */
  pause(): void;
  resume(): void;
  /** Where events go from now on; events that came before are replayed first, in order. */
  attach(handlers: ChannelHandlers): void;
}

/**
 * Holds events until the session attaches: the peer's first frames can arrive in the same
 * tick as the end of the armor handshake, before the Session object exists.
 */
export abstract class BaseChannel implements FrameChannel {
  #handlers: ChannelHandlers | null = null;
  #early: Array<(h: ChannelHandlers) => void> = [];
  protected readonly ws: WebSocket;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.once('close', (code, reason) => this.emit((h) => h.onClose(code, reason.toString())));
  }

  abstract send(batch: Buffer, done?: () => void): void;

  attach(handlers: ChannelHandlers): void {
    this.#handlers = handlers;
    for (const event of this.#early.splice(0)) event(handlers);
  }

  close(code: number, reason: string): void {
    closeWebSocket(this.ws, code, reason);
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  protected emitBatch(batch: Buffer): void {
    if (this.#handlers) this.#handlers.onBatch(batch);
    else this.#early.push((h) => h.onBatch(batch));
  }

  protected emit(event: (h: ChannelHandlers) => void): void {
    if (this.#handlers) event(this.#handlers);
    else this.#early.push(event);
  }
}

/** Plain binary WebSocket messages: mode `tls`. */
export class WsChannel extends BaseChannel {
  constructor(ws: WebSocket) {
    super(ws);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        this.emit((h) => h.onError(new FerryError('FERRY_ERR_TEXT_FRAME', 'text frame refused: the session protocol is binary only')));
        return;
      }
      this.emitBatch(data as Buffer);
    });
  }

  send(batch: Buffer, done?: () => void): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      done?.();
      return;
    }
    // ws hands the batch itself to the socket (the initiator's zero mask leaves it unmasked in
    // place), which may hold it until written: ws calls back then, or with an error if closed.
    this.ws.send(batch, { binary: true }, done);
  }
}

/** Closes politely when open, and tears the socket down when it cannot close politely. */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.OPEN) {
    ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    // A peer that never answers the close frame must not hold the socket forever.
    setTimeout(() => ws.terminate(), 2_000).unref();
  } else if (ws.readyState !== ws.CLOSED) {
    ws.terminate();
  }
}

/** A ws protocol error (WS_ERR_*) as a coded error: too big, or a malformed WebSocket frame. */
export function webSocketError(err: Error): FerryError {
  const wsCode = (err as NodeJS.ErrnoException).code ?? 'unknown';
  const code = wsCode === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'FERRY_ERR_PAYLOAD_TOO_BIG' : 'FERRY_ERR_BAD_FRAME';
  return new FerryError(code, `WebSocket frame refused (${wsCode}): ${err.message}`, { cause: err });
}
