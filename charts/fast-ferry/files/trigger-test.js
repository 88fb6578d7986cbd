// `helm test`: POST TRIGGER_BODY to TRIGGER_URL; exit 0 only on 200 {"status":"delivered"}.
// With TRIGGER_TOKEN_FILE (the chart's trigger.auth Secret), sends its token as a bearer token.
// Runs as `node -e` in the initiator image, so no imports and nothing written to disk.
const url = process.env.TRIGGER_URL;
const body = process.env.TRIGGER_BODY;
const timeoutMs = Number(process.env.TRIGGER_TIMEOUT_MS);
if (!url || !body || !(timeoutMs > 0)) {
  console.error('FAIL: TRIGGER_URL, TRIGGER_BODY and TRIGGER_TIMEOUT_MS must be set (the chart sets them)');
  process.exit(2);
}
const headers = { 'content-type': 'application/json' };
const tokenFile = process.env.TRIGGER_TOKEN_FILE;
if (tokenFile) {
  let token = '';
  try {
    token = require('node:fs').readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    console.error(`FAIL: cannot read the trigger token ${tokenFile}: ${err.message}`);
    process.exit(2);
  }
  headers.authorization = `Bearer ${token}`;
}
fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) }).then(
  async (res) => {
    const text = await res.text();
    let answer;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
    if (res.status === 200 && answer !== null && typeof answer === 'object' && answer.status === 'delivered') {
      console.log(`PASS: POST ${url} -> ${res.status} ${text}`);
      process.exit(0);
    }
    console.error(`FAIL: POST ${url} -> ${res.status} ${text} (expected 200 and {"status":"delivered"}; the initiator's log says why)`);
    process.exit(1);
  },
  (err) => {
    const cause = err && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String((err && err.cause && err.cause.message) || (err && err.message) || err);
    console.error(`FAIL: POST ${url}: ${cause}`);
    process.exit(1);
  },
);
