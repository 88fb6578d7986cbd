/**
 * Set arithmetic over what a stream-initiator accepted and acknowledged and what a
 * recording-terminator (test/fixtures) handed to its hook, across terminator incarnations.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export interface StreamReport {
  streamId: string;
  accepted: string[];
  acked: string[];
  failed: Array<{ id: string; code: string }>;
  /** Acknowledged deliveries whose last send was flagged redelivered. */
  redelivered: number;
}

export interface DeliveryLog {
  /** One list per terminator incarnation, in the order its hook saw them. */
  incarnations: Array<Array<{ id: string; redelivered: boolean; payload: string }>>;
}

export function readReport(path: string): StreamReport {
  return JSON.parse(readFileSync(path, 'utf8')) as StreamReport;
}

export function readDeliveries(path: string): DeliveryLog {
  const incarnations: DeliveryLog['incarnations'] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    if (line.startsWith('START ')) {
      incarnations.push([]);
      continue;
    }
    const [id, flag, payload] = line.split(' ');
    const current = incarnations.at(-1);
    assert.ok(current && id, `delivery line before any START: ${line}`);
    current.push({ id, redelivered: flag === '1', payload: payload ?? '' });
  }
  return { incarnations };
}

export interface Figures {
  accepted: number;
  acked: number;
  failed: number;
  /** Accepted ids no hook ever saw. */
  lost: number;
  /** Hook calls in all. */
  handed: number;
  /** Hook calls beyond the first for an id (each must be flagged redelivered). */
  duplicates: number;
  /** Hook calls that carried the redelivered flag. */
  flagged: number;
  /** Duplicates that were NOT flagged (must be 0). */
  unflaggedDuplicates: number;
  incarnations: number;
  /** Per incarnation: `<first seq>..<last seq>` handed to its hook (empty: `-`). */
  ranges: string[];
}

const seqOf = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));

/**
 * Checks at-least-once delivery of one stream and returns the counts: every accepted id was
 * acknowledged and handed to a hook; nothing else was; a repeat is always flagged; no
 * incarnation saw an id twice (dedupe) or out of order; every hook call got the bytes that were
 * sent for its id (the stream-initiator sends `{i}` as seq i + 1), resends included.
 */
export function checkDelivery(report: StreamReport, log: DeliveryLog): Figures {
  const accepted = new Set(report.accepted);
  assert.equal(accepted.size, report.accepted.length, 'accepted ids are unique');
  const acked = new Set(report.acked);
  const seen = new Map<string, number>();
  let handed = 0;
  let flagged = 0;
  let duplicates = 0;
  let unflaggedDuplicates = 0;
  log.incarnations.forEach((deliveries, n) => {
    let lastSeq = 0;
    for (const { id, redelivered, payload } of deliveries) {
      handed += 1;
      if (redelivered) flagged += 1;
      const count = seen.get(id) ?? 0;
      if (count > 0) {
        duplicates += 1;
        if (!redelivered) unflaggedDuplicates += 1;
      }
      seen.set(id, count + 1);
      const seq = seqOf(id);
      assert.equal(payload, JSON.stringify({ i: seq - 1 }), `incarnation ${n}: ${id}${redelivered ? ' (redelivered)' : ''} carried the payload of another message`);
      assert.ok(seq > lastSeq, `incarnation ${n}: ${id} after seq ${lastSeq} (order kept, duplicates dropped)`);
      lastSeq = seq;
    }
  });
  const lost = [...accepted].filter((id) => !seen.has(id));
  const phantom = [...seen.keys()].filter((id) => !accepted.has(id));
  const unacked = [...accepted].filter((id) => !acked.has(id));
  assert.deepEqual(report.failed, [], 'no accepted message was refused');
  assert.deepEqual(unacked.slice(0, 5), [], `${unacked.length} accepted ids were never acknowledged`);
  assert.equal(acked.size, report.acked.length, 'each id acknowledged once');
  assert.deepEqual(lost.slice(0, 5), [], `${lost.length} accepted ids never reached a hook`);
  assert.deepEqual(phantom.slice(0, 5), [], 'the hook saw only ids that were sent');
  assert.equal(unflaggedDuplicates, 0, 'every repeat is flagged redelivered');
  return {
    accepted: accepted.size,
    acked: acked.size,
    failed: report.failed.length,
    lost: lost.length,
    handed,
    duplicates,
    flagged,
    unflaggedDuplicates,
    incarnations: log.incarnations.length,
    ranges: log.incarnations.map((d) => {
      const first = d[0];
      const last = d.at(-1);
      return first && last ? `${seqOf(first.id)}..${seqOf(last.id)}` : '-';
    }),
  };
}
