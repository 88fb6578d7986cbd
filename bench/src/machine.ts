/** What the machine was doing: load average, core count, and CPU time spent by other processes. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';

export interface MachineInfo {
  node: string;
  cpuModel: string;
  nproc: number;
  uptime: string;
  git: string;
  bufferutil: boolean;
}

export function machineInfo(): MachineInfo {
  return {
    node: process.version,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    nproc: availableParallelism(),
    uptime: run('uptime', []),
    git: gitRevision(),
    bufferutil: resolvable('bufferutil'),
  };
}

export function loadAverage(): string {
  return loadavg().map((n) => n.toFixed(2)).join(' ');
}

/** Busy and total jiffies of all CPUs from /proc/stat (Linux); undefined elsewhere. */
export function cpuTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** CPU busy across the machine between two samples, in % of one core. */
export function busyPercent(a: ReturnType<typeof cpuTicks>, b: ReturnType<typeof cpuTicks>, cores: number): number | undefined {
  if (!a || !b || b.total === a.total) return undefined;
  return ((b.busy - a.busy) / (b.total - a.total)) * 100 * cores;
}

function gitRevision(): string {
  const rev = run('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']) !== '';
  return `${rev}${dirty ? ' + uncommitted changes' : ''}`;
}

function resolvable(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
