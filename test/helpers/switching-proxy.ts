/**
 * A TCP proxy in front of several backends that forwards every new connection to the one
 * currently selected, as a Kubernetes Service does for its endpoints. `switchTo` is an endpoint
 * change (a pod went away, another came up): the connections it carries are cut, and new ones
 * go to the other backend. It forwards bytes only: TLS runs end to end through it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class SwitchingProxy {
  readonly #server: Server;
  readonly #backends: readonly number[];
  readonly #open = new Set<Socket>();
  #current = 0;
  /** Connections accepted per backend index. */
  readonly accepted: number[];

  private constructor(server: Server, backends: readonly number[]) {
    this.#server = server;
    this.#backends = backends;
    this.accepted = backends.map(() => 0);
    server.on('connection', (client) => this.#forward(client));
  }

  /** Listens on 127.0.0.1:`port`, forwarding to 127.0.0.1:`backends[0]` first. */
  static async start(port: number, backends: readonly number[]): Promise<SwitchingProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new SwitchingProxy(server, backends);
  }

  get current(): number {
    return this.#current;
  }

  /** New connections go to backend `index`; the ones open now are cut (both ends see a reset). */
  switchTo(index: number): void {
    if (index < 0 || index >= this.#backends.length) throw new RangeError(`no backend ${index}: there are ${this.#backends.length}`);
    this.#current = index;
    for (const socket of this.#open) socket.resetAndDestroy();
    this.#open.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.#open) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #forward(client: Socket): void {
    const index = this.#current;
    this.accepted[index] = (this.accepted[index] ?? 0) + 1;
    const backend = createConnection({ host: '127.0.0.1', port: this.#backends[index] as number });
    this.#open.add(client);
    this.#open.add(backend);
    const end = (): void => {
      client.destroy();
      backend.destroy();
      this.#open.delete(client);
      this.#open.delete(backend);
    };
    client.on('error', end).on('close', end);
    backend.on('error', end).on('close', end);
    client.pipe(backend);
    backend.pipe(client);
  }
}
