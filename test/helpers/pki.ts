/** Real certificates for tests, issued by the same tool deploy.sh uses, in a temp folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, ensurePki, issueLeaf, INITIATOR_SANS, TERMINATOR_SANS, type PkiPaths } from '../../tools/src/pki.js';

export interface TestPki extends PkiPaths {
  /** A second, unrelated CA and certificates it issued: what an outsider would present. */
  rogue: { ca: { cert: string; key: string }; initiator: { cert: string; key: string }; terminator: { cert: string; key: string } };
  cleanup(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-test-pki-'));
  const { paths } = ensurePki(join(dir, 'bundle'));
  const rogueCa = createCa(join(dir, 'rogue'), 'Rogue CA');
  const rogue = {
    ca: rogueCa,
    initiator: issueLeaf({ ca: rogueCa, dir: join(dir, 'rogue', 'initiator'), commonName: 'initiator', sans: INITIATOR_SANS, usage: 'client' }),
    terminator: issueLeaf({ ca: rogueCa, dir: join(dir, 'rogue', 'terminator'), commonName: 'terminator', sans: TERMINATOR_SANS, usage: 'server' }),
  };
  return { ...paths, rogue, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
