/**
 * Keepalive: both ends ping every interval (well under the ~60 s idle cut of common proxies);
 * anything that arrives from the peer (a message, a ping, a pong) counts as a sign of life. A
 * peer silent for two intervals is declared dead. The check runs four times per interval, so
 * a dead peer is found between 2 and 2.25 intervals after its last sign of life.
 */
import type WebSocket from 'ws';

export function keepAlive(ws: WebSocket, intervalMs: number, onDead: (silentMs: number) => void): () => void {
  let lastSeen = performance.now();
  let lastPing = lastSeen;
  const alive = (): void => {
    lastSeen = performance.now();
  };
  ws.on('message', alive);
  ws.on('ping', alive);
  ws.on('pong', alive);
  const timer = setInterval(() => {
    const now = performance.now();
    const silent = now - lastSeen;
    if (silent > 2 * intervalMs) {
      stop();
      onDead(Math.round(silent));
      return;
    }
    if (now - lastPing >= intervalMs && ws.readyState === ws.OPEN) {
      lastPing = now;
      ws.ping();
    }
  }, Math.max(25, Math.floor(intervalMs / 4)));
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    ws.off('message', alive);
    ws.off('ping', alive);
    ws.off('pong', alive);
  };
  ws.once('close', stop);
  return stop;
}
