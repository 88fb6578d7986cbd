/** Reads a process's /metrics and picks out samples, for before/after comparisons. */
import { get } from './procs.js';

export type Samples = Map<string, number>;

/** Scrapes http://127.0.0.1:<port>/metrics into `name{label="v",...}` → value (labels as printed). */
export async function scrape(port: number): Promise<Samples> {
  const { status, text } = await get(port, '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The sum of every sample of `name` whose labels include all of `labels` (0 when none). */
export function sample(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    const text = brace < 0 ? '' : key.slice(brace);
    if (Object.entries(labels).every(([k, v]) => text.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

/** How much `name{labels}` grew between two scrapes. */
export function delta(before: Samples, after: Samples, name: string, labels: Record<string, string> = {}): number {
  return sample(after, name, labels) - sample(before, name, labels);
}
