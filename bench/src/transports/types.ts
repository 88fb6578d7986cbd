/** What each row implements: a receiver that feeds a Sink, and a sender connection. */
import type { Payload, Sink } from '../message.js';
import type { PeerArgs } from '../protocol.js';

export interface Receiver {
  port: number;
}

export interface SenderConnection {
  /**
   * Sends one message: a JSON object (stringified here, per message) or bytes (args.payload
   * says which). Returns false when the transport pushes back: the caller awaits `writable()`
   * before the next send.
   */
  send(payload: Payload): boolean;
  writable(): Promise<void>;
}

export interface Transport {
  receive(args: PeerArgs, sink: Sink): Promise<Receiver>;
  connect(args: PeerArgs): Promise<SenderConnection>;
}

