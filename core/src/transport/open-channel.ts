/**
 * Turns an upgraded WebSocket into the FrameChannel the session runs on, according to
 * armor.mode: `tls` uses the WebSocket as it is; `tunnel` first runs the armor key exchange
 * bound to this TLS connection and then seals every batch.
 */
import type { KeyObject } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type WebSocket from 'ws';
import { armorHandshake } from './armored-channel.js';
import { WsChannel, type FrameChannel } from './channel.js';

export interface OpenedChannel {
  channel: FrameChannel;
  /** Logged at session start: the armor's session identity (session id, ephemeral keys). */
  identity: Record<string, string>;
}

export interface OpenChannelOptions {
  mode: 'tunnel' | 'tls';
  role: 'initiator' | 'terminator';
  ws: WebSocket;
  tlsSocket: TLSSocket;
  privateKey: KeyObject;
  rekey: { intervalMs: number; messages: number };
  handshakeTimeoutMs: number;
  onRekey(count: number): void;
}

export async function openChannel(options: OpenChannelOptions): Promise<OpenedChannel> {
  if (options.mode === 'tls') return { channel: new WsChannel(options.ws), identity: {} };
  const channel = await armorHandshake({
    role: options.role,
    ws: options.ws,
    tlsSocket: options.tlsSocket,
    privateKey: options.privateKey,
    rekey: options.rekey,
    timeoutMs: options.handshakeTimeoutMs,
    onRekey: options.onRekey,
  });
  return { channel, identity: channel.identity };
}
