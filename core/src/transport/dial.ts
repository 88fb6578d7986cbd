/**
 * Dials the terminator: wss with TLS 1.3 only, this pod's client certificate, the bundle's CA
 * as the only trust anchor, the server name checked, permessage-deflate off (compression
 * inside TLS leaks; and it costs CPU), and the whole dial under one timeout.
 */
import type { TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import { FerryError } from '../errors.js';
import { classifyDialError } from './failures.js';
import type { TlsMaterial } from './tls-material.js';

export interface DialOptions {
  url: string;
  /** The name the server certificate must carry; empty means the URL's host. */
  serverName: string;
  tls: TlsMaterial;
  timeoutMs: number;
  maxPayloadBytes: number;
}

export interface Dialed {
  ws: WebSocket;
  tlsSocket: TLSSocket;
}

/**
 * An all-zero masking key. RFC 6455 masks client frames so that attacker-chosen bytes (from
 * browser scripts) cannot poison plaintext intermediaries; inside TLS between two pods no
 * intermediary sees them, so masking protects nothing here. With a zero key ws neither masks
 * (no copy and XOR of every batch: it would copy, because the batch is kept for resends) nor
 * unmasks on the terminator; ws documents generateMask for exactly this.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export function dial(options: DialOptions): Promise<Dialed> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(options.url, {
      ca: options.tls.ca,
      cert: options.tls.cert,
      key: options.tls.key,
      ...(options.serverName ? { servername: options.serverName } : {}),
      minVersion: 'TLSv1.3',
      rejectUnauthorized: true,
      perMessageDeflate: false,
      maxPayload: options.maxPayloadBytes,
      handshakeTimeout: options.timeoutMs,
      followRedirects: false,
      generateMask: zeroMask,
    });
    let tlsSocket: TLSSocket | undefined;
    let settled = false;
    const timer = setTimeout(() => {
      fail(new FerryError('FERRY_ERR_DIAL_TIMEOUT', `dial ${options.url} did not complete within ${options.timeoutMs} ms (session.dialTimeoutMs)`));
    }, options.timeoutMs);
    const fail = (err: FerryError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    ws.once('upgrade', (res) => {
      tlsSocket = res.socket as TLSSocket;
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!tlsSocket) {
        ws.terminate();
        reject(new FerryError('FERRY_ERR_DIAL_FAILED', 'connected without a TLS socket'));
        return;
      }
      resolve({ ws, tlsSocket });
    });
    ws.once('unexpected-response', (_req, res) => {
      fail(new FerryError('FERRY_ERR_DIAL_FAILED', `${options.url} answered HTTP ${res.statusCode} instead of upgrading to WebSocket`));
    });
    // A listener for the socket's whole life, not once: ws emits 'error' for frames it refuses
    // (too big, malformed) after the dial, and an unheard 'error' would end the process. After
    // the dial, 'close' follows every error and the session logs its code.
    ws.on('error', (err) => fail(classifyDialError(options.url, err)));
  });
}
