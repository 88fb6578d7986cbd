/**
 * Reloads the TLS material when its files change: Kubernetes updates a mounted Secret by
 * swapping a symlink in the mount folder, so the folders are watched, not the files. New
 * material is checked like at start-up; material that fails the checks is refused with a
 * logged reason and the old one stays in use, so a bad Secret update cannot take the pod down.
 * Open sessions keep the keys they were made with; new connections use the new material.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { loadTlsMaterial, type TlsMaterial, type TlsPaths } from './tls-material.js';

/** Changes come in bursts (three files, a symlink swap): wait for quiet before reloading. */
const SETTLE_MS = 250;

/** Same files, byte for byte: a folder event that changed nothing we use. */
function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.ca.equals(b.ca) && a.cert.equals(b.cert) && a.key.equals(b.key);
}

/** `inUse` is the material loaded at start-up; `onReload` is called with each new one. */
export function watchTlsMaterial(paths: TlsPaths, logger: Logger, inUse: TlsMaterial, onReload: (tls: TlsMaterial) => void): () => void {
  const folders = [...new Set([paths.caFile, paths.certFile, paths.keyFile].map((p) => dirname(p)))];
  let current = inUse;
  let timer: NodeJS.Timeout | undefined;
  const reload = (): void => {
    let tls: TlsMaterial;
    try {
      tls = loadTlsMaterial(paths, current.role);
    } catch (err) {
      logger.error(`TLS material changed but was refused; keeping the previous certificates: ${messageOf(err)}`, { code: 'FERRY_ERR_CERT' });
      return;
    }
    // A Secret update writes a new version folder before it swaps the link to it: a slow one
    // can outlast SETTLE_MS, and the files then still read as the old version.
    if (sameMaterial(tls, current)) return;
    current = tls;
    logger.info('🔐 TLS material reloaded: new connections use the new certificate', {
      serial: tls.certificate.serialNumber,
      notAfter: new Date(tls.certificate.validTo).toISOString(),
    });
    onReload(tls);
  };
  const watchers: FSWatcher[] = [];
  for (const folder of folders) {
    try {
      const watcher = watch(folder, { persistent: false }, () => {
        clearTimeout(timer);
        timer = setTimeout(reload, SETTLE_MS);
      });
      watcher.on('error', (err) => logger.warn(`stopped watching ${folder} for certificate changes: ${messageOf(err)}`));
      watchers.push(watcher);
    } catch (err) {
      logger.warn(`cannot watch ${folder} for certificate changes (reload needs a restart): ${messageOf(err)}`);
    }
  }
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
