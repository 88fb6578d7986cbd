/**
 * The TLS material a runtime uses for new connections: loaded at start-up, replaced when its
 * files change (open sessions keep theirs), and its expiry exported as a metric.
 */
import type { FerryConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { trackCertificateExpiry, type Metrics } from '../metrics.js';
import type { TlsMaterial } from '../transport/tls-material.js';
import { watchTlsMaterial } from '../transport/tls-reload.js';

export class Certificates {
  #current: TlsMaterial;
  #stop: () => void = () => {};

  constructor(initial: TlsMaterial, metrics: Metrics) {
    this.#current = initial;
    trackCertificateExpiry(metrics, () => this.#current.secondsToExpiry());
  }

  /** The material new connections use. */
  get current(): TlsMaterial {
    return this.#current;
  }

  /** Starts watching the files; `onReload` runs after each accepted change. */
  watch(paths: FerryConfig['tls'], logger: Logger, onReload: (tls: TlsMaterial) => void = () => {}): void {
    this.#stop = watchTlsMaterial(paths, logger, this.#current, (tls) => {
      this.#current = tls;
      onReload(tls);
    });
  }

  stop(): void {
    this.#stop();
  }
}
