/**
 * The initiator's auto-trigger: once the first session is up, `count` messages go through
 * on_trigger and out as fast as the terminator acknowledges them, and one line reports how
 * many were acknowledged (the line deploy.sh's verify step waits for; see auto-trigger-line.ts).
 */
import { isFerryError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { Delivery } from '../session/delivery.js';
import type { Payload } from '../session/payload-codec.js';
import { autoTriggerCompleteLine, autoTriggerStartLine } from './auto-trigger-line.js';

type JsonObject = Record<string, unknown>;

/** What the auto-trigger needs of the initiator. */
export interface AutoTriggerTarget {
  runTriggerHook(payload: JsonObject, headers: Record<string, string>): Promise<Payload>;
  whenSendable(): Promise<void>;
  send(message: Payload): Promise<Delivery>;
}

/** Sends `count` messages; "sent" in the report means acknowledged after the terminator's hook. */
export async function autoTrigger(count: number, target: AutoTriggerTarget, logger: Logger): Promise<void> {
  if (count === 0) return;
  logger.info(autoTriggerStartLine(count));
  const outcomes: Array<Promise<void>> = [];
  const failures: string[] = [];
  for (let i = 1; i <= count; i += 1) {
    const payload = { message: `auto-trigger ${i}/${count}`, index: i, at: new Date().toISOString() };
    try {
      const message = await target.runTriggerHook(payload, { 'x-ferry-trigger': 'auto' });
      await target.whenSendable();
      outcomes.push(target.send(message).then(() => undefined, (err: unknown) => { failures.push(describeFailure(err)); }));
    } catch (err) {
      failures.push(describeFailure(err));
    }
  }
  await Promise.all(outcomes);
  const sent = count - failures.length;
  const line = autoTriggerCompleteLine(sent, count);
  if (failures.length === 0) logger.info(line);
  else logger.warn(`${line} ${failures.length} failed: ${summarize(failures)}`);
}

function describeFailure(err: unknown): string {
  return isFerryError(err) ? `${err.code}: ${err.message}` : messageOf(err);
}

/** Identical failures once, with their count: a dead terminator must not print `count` lines. */
function summarize(failures: string[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f, (counts.get(f) ?? 0) + 1);
  return [...counts].map(([text, n]) => (n > 1 ? `${n}× ${text}` : text)).join('; ');
}
