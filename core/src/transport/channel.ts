/**
 * A FrameChannel carries batches of session frames over one WebSocket. The session layer does
 * not know whether the batches travel as plain binary messages (armor mode `tls`) or sealed
 * under the session armor (mode `tunnel`); both implement this interface.
 */
import type WebSocket from 'ws';
import { FerryError } from '../errors.js';

export interface FrameChannel {
  /** Sends one batch of frames as one WebSocket message. */
  send(batch: Buffer): void;
  /** Ends the connection with a WebSocket close code and a short reason (≤ 123 bytes). */
  close(code: number, reason: string): void;
  /** Stops / restarts reading from the socket (receiver backpressure). */
  pause(): void;
  resume(): void;
  /** Bytes queued in the socket, not yet written. */
  readonly bufferedAmount: number;
  /** Set by the session: called with each received batch, or with the error that ends it. */
  onBatch: (batch: Buffer) => void;
  onError: (err: FerryError) => void;
  /** Called once when the connection is gone, whatever ended it. */
  onClose: (code: number, reason: string) => void;
}

/** Plain binary WebSocket messages: mode `tls`, and the base the armored channel wraps. */
export class WsChannel implements FrameChannel {
  onBatch: (batch: Buffer) => void = () => {};
  onError: (err: FerryError) => void = () => {};
  onClose: (code: number, reason: string) => void = () => {};
  readonly #ws: WebSocket;

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        this.onError(new FerryError('FERRY_ERR_TEXT_FRAME', 'text frame refused: the session protocol is binary only'));
        return;
      }
      this.onBatch(data as Buffer);
    });
    ws.once('close', (code, reason) => this.onClose(code, reason.toString()));
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(batch: Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(batch, { binary: true });
  }

  close(code: number, reason: string): void {
    closeWebSocket(this.#ws, code, reason);
  }

  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
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
