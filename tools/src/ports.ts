/**
 * Loopback ports for the processes that tests and the bench start (the runtimes' config takes
 * no port 0, so a port is chosen first and handed to them).
 *
 * Not from listen(0): that port is closed again before the app binds it, and in the gap the
 * kernel may give the same port to any outgoing connection or to another listen(0). Seen here:
 * `EADDRINUSE` at start-up when test files ran concurrently, and sequential listen(0) calls
 * repeating a recent port about once in 2,000. Ports below the kernel's ephemeral range are
 * never handed out that way; each process walks its own stretch of them, from a random start,
 * and takes the next one that it can bind.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** How many ports below the ephemeral range are used (Linux default: 20768–32767). */
const SPAN = 12_000;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync(RANGE_FILE, 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768; // not Linux: the IANA range starts at 49152, Linux's at 32768
  }
}

const high = ephemeralLow();
const low = Math.max(1024, high - SPAN);
/** Fewer ports than this below the ephemeral range (an unusual kernel setting): use listen(0). */
const ENOUGH = 1000;
// A random start: test files are spawned one after another with nearby pids, and a start
// derived from the pid put their walks a few ports apart.
let next = high - low >= ENOUGH ? low + Math.floor(Math.random() * (high - low)) : 0;

/** Binds `port` (0: any) on loopback and lets it go: the port, or 0 when it was taken. */
function tryListen(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(0));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

/** A loopback port nothing listens on, which the kernel will not hand to anyone else. */
export async function freePort(): Promise<number> {
  if (next === 0) return tryListen(0);
  for (let tried = 0; tried < high - low; tried += 1) {
    const port = next;
    next = next + 1 < high ? next + 1 : low;
    if ((await tryListen(port)) === port) return port;
  }
  throw new Error(`no free loopback port between ${low} and ${high - 1}`);
}
