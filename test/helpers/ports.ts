/** Free loopback ports for the processes a test starts (see tools/src/ports.ts for why not listen(0)). */
export { freePort } from '../../tools/src/ports.js';
