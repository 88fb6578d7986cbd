/**
 * A real NATS server with JetStream for the tests (Debian's `nats-server` package, installed by
 * .ci/setup-nats.sh), storing in a folder of the test's own, on a loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The nats-server binary on PATH (or in /usr/sbin, where Debian puts it), or null. */
export function natsServerBinary(): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Why a JetStream test cannot run here, or null when it can. */
export function natsSkipReason(): string | null {
  return natsServerBinary() ? null : 'nats-server is not installed: run `bash .ci/setup-nats.sh` (apt-get install -y nats-server)';
}

export interface NatsServer {
  url: string;
  port: number;
  child: ChildProcess;
  lines: string[];
  stop(): Promise<void>;
}

/** Starts `nats-server -js -sd <storeDir> -a 127.0.0.1 -p <port>` and waits until it is ready. */
export function startNatsServer(storeDir: string, port: number, timeoutMs = 10_000): Promise<NatsServer> {
  const binary = natsServerBinary();
  if (!binary) throw new Error(natsSkipReason() ?? 'nats-server missing');
  const child = spawn(binary, ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    child,
    lines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server on port ${port} not ready within ${timeoutMs} ms:\n  ${lines.slice(-10).join('\n  ')}`));
    }, timeoutMs);
    const onLine = (line: string): void => {
      lines.push(line);
      if (process.env['FERRY_TEST_VERBOSE']) process.stderr.write(`[nats] ${line}\n`);
      if (line.includes('Server is ready')) {
        clearTimeout(timer);
        resolve(server);
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${signal ?? code}) before it was ready:\n  ${lines.slice(-10).join('\n  ')}`));
    });
  });
}
