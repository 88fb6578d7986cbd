/**
 * The initiator's auto-trigger report lines: a contract with deploy.sh's verify step, the
 * local runner and the README, so the format and its parser stand side by side here.
 */

/** "🔁 Auto-trigger starting — sending 5 messages" */
export function autoTriggerStartLine(count: number): string {
  return `🔁 Auto-trigger starting — sending ${count} messages`;
}

/** "🔁 Auto-trigger complete — 5/5 messages sent." ("sent" means acknowledged after the terminator's hook ran) */
export function autoTriggerCompleteLine(sent: number, count: number): string {
  return `🔁 Auto-trigger complete — ${sent}/${count} messages sent.`;
}

/**
 * Finds the complete line anywhere in `text` (a text or JSON log line, or a whole log). Lenient
 * between the words and the counts, so a log pipeline that re-encodes the dash still matches.
 */
const COMPLETE = /Auto-trigger complete\D*?(\d+)\/(\d+) messages sent/;

/** The counts of the first complete line in `text`, or undefined when there is none. */
export function parseAutoTriggerComplete(text: string): { sent: number; count: number } | undefined {
  const match = COMPLETE.exec(text);
  if (!match) return undefined;
  return { sent: Number(match[1]), count: Number(match[2]) };
}
