/**
 * A network link between two processes on loopback that a test can cut: a TCP relay from a
 * port of its own to the target port. `cut()` blackholes every flow that exists (bytes are
 * swallowed, nothing is closed: what a dead link or a lost NAT entry looks like to both ends)
 * and refuses new ones by holding them silent; `heal()` forwards new flows again. Flows that
 * were cut stay blackholed, as flows through a NAT or load balancer that lost them do, so the
 * far end only learns of their death from its own keepalive.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Link {
  /** The port to dial instead of the target's. */
  port: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

interface Flow {
  client: Socket;
  upstream: Socket | null;
  blackholed: boolean;
}

export function openLink(targetPort: number): Promise<Link> {
  const flows = new Set<Flow>();
  let cut = false;
  const blackhole = (flow: Flow): void => {
    flow.blackholed = true;
    for (const socket of [flow.client, flow.upstream]) {
      if (!socket) continue;
      socket.unpipe();
      socket.removeAllListeners('data');
      // Keep reading so the sender's writes succeed and go nowhere, as on a dead wire.
      socket.on('data', () => {});
      socket.resume();
    }
  };
  const server: Server = createServer((client) => {
    const flow: Flow = { client, upstream: null, blackholed: false };
    flows.add(flow);
    const forget = (): void => {
      // A flow that died on one side dies on the other too, unless the link swallowed it.
      if (!flow.blackholed) {
        client.destroy();
        flow.upstream?.destroy();
      }
      if (client.destroyed && (flow.upstream?.destroyed ?? true)) flows.delete(flow);
    };
    client.on('error', () => {});
    client.on('close', forget);
    if (cut) {
      blackhole(flow);
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    flow.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('close', forget);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        cut() {
          cut = true;
          for (const flow of flows) blackhole(flow);
        },
        heal() {
          cut = false;
        },
        close() {
          for (const flow of flows) {
            flow.client.destroy();
            flow.upstream?.destroy();
          }
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}
