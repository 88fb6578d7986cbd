/**
 * The process's Prometheus metrics (prom-client), one registry per runtime so that tests and
 * embedders can run several in one process. Names carry their units (`_total`, `_seconds`,
 * `_bytes`); the README lists them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const depthSources = new WeakMap<Registry, () => number>();

/** Lets the outbox-depth gauge read the runtime's outboxes when scraped, not on every push. */
export function trackOutboxDepth(metrics: { registry: Registry }, depth: () => number): void {
  depthSources.set(metrics.registry, depth);
}

const expirySources = new WeakMap<Registry, () => number>();

/** Lets the certificate-expiry gauge read the certificate in use (it changes on reload). */
export function trackCertificateExpiry(metrics: { registry: Registry }, seconds: () => number): void {
  expirySources.set(metrics.registry, seconds);
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricsOptions {
  defaultMetrics?: boolean;
}

export function createMetrics(role: 'initiator' | 'terminator', options: MetricsOptions = {}) {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'ferry_process_' });
  const r = [registry];
  return {
    registry,
    sessionsTotal: new Counter({ name: 'ferry_sessions_total', help: 'Sessions that completed the hello/welcome handshake.', registers: r }),
    sessionsOpen: new Gauge({ name: 'ferry_sessions_open', help: 'Sessions open right now.', registers: r }),
    sessionsClosed: new Counter({ name: 'ferry_sessions_closed_total', help: 'Sessions that ended, by reason code.', labelNames: ['reason'] as const, registers: r }),
    messagesSent: new Counter({ name: 'ferry_messages_sent_total', help: 'DATA frames written to a session (first sends and resends).', registers: r }),
    messagesAcked: new Counter({ name: 'ferry_messages_acked_total', help: 'Messages the peer acknowledged after its hook ran.', registers: r }),
    messagesReceived: new Counter({ name: 'ferry_messages_received_total', help: 'Messages handed to the local receive hook.', registers: r }),
    messagesRedelivered: new Counter({ name: 'ferry_messages_redelivered_total', help: 'Messages sent again after a reconnect.', registers: r }),
    duplicatesDropped: new Counter({ name: 'ferry_duplicates_dropped_total', help: 'Received messages dropped because they were already delivered.', registers: r }),
    messagesRefused: new Counter({ name: 'ferry_messages_refused_total', help: 'Messages refused to a caller, by reason code.', labelNames: ['reason'] as const, registers: r }),
    hookDuration: new Histogram({ name: 'ferry_hook_duration_seconds', help: 'Time a hook took (async hooks until they settled).', labelNames: ['hook'] as const, buckets: LATENCY_BUCKETS, registers: r }),
    hookErrors: new Counter({ name: 'ferry_hook_errors_total', help: 'Hooks that threw, rejected or timed out.', labelNames: ['hook', 'reason'] as const, registers: r }),
    deliveryLatency: new Histogram({ name: 'ferry_delivery_latency_seconds', help: 'From accepting a message to its acknowledgement.', buckets: LATENCY_BUCKETS, registers: r }),
    reconnects: new Counter({ name: 'ferry_reconnects_total', help: 'Dial attempts after the first.', registers: r }),
    dialFailures: new Counter({ name: 'ferry_dial_failures_total', help: 'Dial attempts that failed, by reason code.', labelNames: ['reason'] as const, registers: r }),
    handshakeFailures: new Counter({ name: 'ferry_handshake_failures_total', help: 'TLS, hello/welcome or armor handshakes that failed, by reason.', labelNames: ['reason'] as const, registers: r }),
    framesRejected: new Counter({ name: 'ferry_frames_rejected_total', help: 'Frames that ended a session, by reason code.', labelNames: ['reason'] as const, registers: r }),
    rekeys: new Counter({ name: 'ferry_rekeys_total', help: 'Armor key rotations inside sessions.', registers: r }),
    /** Read at scrape time from the runtime's outboxes (see `trackOutboxDepth`). */
    outboxDepth: new Gauge({ name: 'ferry_outbox_depth', help: 'Messages waiting for an acknowledgement.', registers: r, collect() { this.set(depthSources.get(registry)?.() ?? 0); } }),
    circuitOpen: new Gauge({ name: 'ferry_circuit_open', help: '1 when the initiator stopped dialing after reconnect.maxRetries failures.', registers: r }),
    /** Read at scrape time from the certificate in use (see `trackCertificateExpiry`). */
    certExpiry: new Gauge({ name: 'ferry_certificate_expiry_seconds', help: "Seconds until this pod's certificate expires.", registers: r, collect() { this.set(expirySources.get(registry)?.() ?? 0); } }),
    bytesSent: new Counter({ name: 'ferry_session_sent_bytes_total', help: 'Bytes of session frames written (before TLS).', registers: r }),
    bytesReceived: new Counter({ name: 'ferry_session_received_bytes_total', help: 'Bytes of session frames read (after TLS).', registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
