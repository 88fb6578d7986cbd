/**
 * The process's Prometheus metrics (prom-client), one registry per runtime so that tests and
 * embedders can run several in one process. Names carry their units (`_total`, `_seconds`,
 * `_bytes`); the README lists them.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';
import { CloseCode, ErrorCodes, FerryError, HOOK_RUN_CODES, isFerryError, messageOf, type ErrorCode } from './errors.js';
import type { HookName } from './hooks.js';

/** What the outbox gauges read of one outbox (session/outbox.ts's Outbox). */
export interface OutboxStats {
  readonly depth: number;
  /** performance.now() when its oldest unacknowledged message was accepted; undefined when empty. */
  readonly oldestAcceptedAt: number | undefined;
}

const outboxSources = new WeakMap<Registry, () => Iterable<OutboxStats>>();

/**
 * Lets the outbox gauges (depth, age of the oldest unacknowledged message) read the runtime's
 * outboxes when scraped, not on every push or ack.
 */
export function trackOutboxes(metrics: { registry: Registry }, outboxes: () => Iterable<OutboxStats>): void {
  outboxSources.set(metrics.registry, outboxes);
}

function outboxDepth(registry: Registry): number {
  let depth = 0;
  for (const o of outboxSources.get(registry)?.() ?? []) depth += o.depth;
  return depth;
}

function oldestAgeSeconds(registry: Registry): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const o of outboxSources.get(registry)?.() ?? []) {
    const at = o.oldestAcceptedAt;
    if (at !== undefined && at < oldest) oldest = at;
  }
  return oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, (performance.now() - oldest) / 1000);
}

const expirySources = new WeakMap<Registry, () => number>();

/** Lets the certificate-expiry gauge read the certificate in use (it changes on reload). */
export function trackCertificateExpiry(metrics: { registry: Registry }, seconds: () => number): void {
  expirySources.set(metrics.registry, seconds);
}

// From 50 µs: a delivery on a quiet link takes a few hundred microseconds.
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * A Prometheus histogram cheap enough to observe once per message: observe() is a bucket
 * search and three additions. (prom-client's Histogram allocates a closure, validates and
 * hashes the labels, and looks buckets up by float-keyed properties on every call: about 8 %
 * of the terminator's CPU at 128-byte messages.) Its get() has the shape prom-client's
 * Histogram returns, so the registry renders it the same in /metrics and in JSON.
 */
export class FastHistogram<L extends string = never> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #labelNames: readonly L[];
  #series = new Map<string, HistogramSeries>();
  /** The series of an unlabelled histogram. */
  #unlabelled: HistogramSeries | undefined;

  constructor(config: { name: string; help: string; buckets: readonly number[]; labelNames?: readonly L[]; registers: Registry[] }) {
    this.name = config.name;
    this.help = config.help;
    this.#bounds = [...config.buckets].sort((a, b) => a - b);
    this.#labelNames = config.labelNames ?? [];
    // Like prom-client: a histogram without labels is exported (all zeros) before its first observation.
    if (this.#labelNames.length === 0) this.#unlabelled = this.labels({} as Record<L, string>);
    for (const registry of config.registers) registry.registerMetric(this as never);
  }

  get labelNames(): readonly L[] {
    return this.#labelNames;
  }

  /** The series of one label set, to observe into without looking it up each time. */
  labels(labels: Record<L, string>): HistogramSeries {
    const values = this.#labelNames.map((name) => {
      const value = labels[name];
      if (typeof value !== 'string') throw new TypeError(`${this.name}: label '${name}' must be a string`);
      return value;
    });
    for (const name of Object.keys(labels)) {
      if (!this.#labelNames.includes(name as L)) throw new TypeError(`${this.name}: unknown label '${name}'`);
    }
    const key = values.join('\u0000');
    let series = this.#series.get(key);
    if (!series) {
      series = new HistogramSeries({ ...labels }, this.#bounds);
      this.#series.set(key, series);
    }
    return series;
  }

  observe(...args: [L] extends [never] ? [value: number] : [labels: Record<L, string>, value: number]): void {
    if (args.length === 1) (this.#unlabelled ?? this.labels({} as Record<L, string>)).observe(args[0] as number);
    else this.labels(args[0] as Record<L, string>).observe(args[1] as number);
  }

  reset(): void {
    for (const series of this.#series.values()) series.reset();
  }

  async get(): Promise<Omit<MetricObjectWithValues<MetricValueWithName<string>>, 'collect' | 'type'> & { type: 'histogram' }> {
    const values: Array<MetricValueWithName<string>> = [];
    for (const series of this.#series.values()) series.export(this.name, this.#bounds, values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** One label set of a FastHistogram: per-bucket counts (non-cumulative), sum and count. */
export class HistogramSeries {
  readonly #labels: Record<string, string>;
  readonly #bounds: readonly number[];
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(labels: Record<string, string>, bounds: readonly number[]) {
    this.#labels = labels;
    this.#bounds = bounds;
    this.#counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i += 1;
    if (i < bounds.length) this.#counts[i] = (this.#counts[i] as number) + 1;
    this.#sum += value;
    this.#count += 1;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }

  export(name: string, bounds: readonly number[], out: Array<MetricValueWithName<string>>): void {
    let cumulative = 0;
    bounds.forEach((le, i) => {
      cumulative += this.#counts[i] as number;
      out.push({ labels: { le, ...this.#labels }, value: cumulative, metricName: `${name}_bucket` });
    });
    out.push({ labels: { le: '+Inf', ...this.#labels }, value: this.#count, metricName: `${name}_bucket` });
    out.push({ labels: { ...this.#labels }, value: this.#sum, metricName: `${name}_sum` });
    out.push({ labels: { ...this.#labels }, value: this.#count, metricName: `${name}_count` });
  }
}

/**
 * A counter for per-message events: inc() is one addition, and the total reaches prom-client
 * only when the registry is read (prom-client's own inc() validates and hashes labels on every
 * call, which is measurable at hundreds of thousands of messages a second).
 */
export class BatchedCounter {
  #pending = 0;

  constructor(config: { name: string; help: string; registers: Registry[] }) {
    const pending = (): number => {
      const n = this.#pending;
      this.#pending = 0;
      return n;
    };
    new Counter({
      ...config,
      collect() {
        const n = pending();
        if (n > 0) this.inc(n);
      },
    });
  }

  inc(count = 1): void {
    this.#pending += count;
  }
}

/** One value's share of a BatchedLabelledCounter: inc() is one addition. */
export interface BatchedSeries {
  inc(count?: number): void;
}

/**
 * A BatchedCounter with one label whose values are all known up front: one series per value,
 * each exported from the first scrape on (at 0 until its first event).
 */
function batchedByLabel<V extends string>(config: { name: string; help: string; registers: Registry[] }, label: string, values: readonly V[]): Record<V, BatchedSeries> {
  const series = {} as Record<V, { pending: number; inc(count?: number): void }>;
  for (const value of values) {
    series[value] = {
      pending: 0,
      inc(count = 1) {
        this.pending += count;
      },
    };
  }
  new Counter({
    ...config,
    labelNames: [label],
    collect() {
      for (const value of values) {
        const s = series[value];
        this.inc({ [label]: value }, s.pending);
        s.pending = 0;
      }
    },
  });
  return series;
}

export interface MetricsOptions {
  defaultMetrics?: boolean;
}

const codes = Object.keys(ErrorCodes) as ErrorCode[];

/**
 * Codes that end a session because of the session or the peer (a frame, the handshake, TLS,
 * armor, silence): every row whose close code is a protocol, policy, size, armor or peer-dead
 * close. Read from the table, so a new code of that kind is counted from 0 without a list here.
 */
const SESSION_FAILURE_CLOSES: ReadonlySet<number> = new Set([CloseCode.PROTOCOL_ERROR, CloseCode.UNSUPPORTED_DATA, CloseCode.POLICY_VIOLATION, CloseCode.MESSAGE_TOO_BIG, CloseCode.ARMOR_FAILURE, CloseCode.PEER_DEAD]);
const SESSION_FAILURE_CODES = codes.filter((c) => ErrorCodes[c].close !== null && SESSION_FAILURE_CLOSES.has(ErrorCodes[c].close as number));

/**
 * The label values each labelled counter starts with at 0, so that rate() and absent-based
 * alerts see the series before its first event. Each set holds the codes that can occur for
 * that counter (see docs/operations.md); labels outside it (an OpenSSL or errno code) still
 * appear on their first event.
 */
export function knownReasons(role: 'initiator' | 'terminator') {
  const initiator = role === 'initiator';
  return {
    /** Failures above, a close without an error (normal or abnormal), and a batch that could not be written. */
    sessionsClosed: [...SESSION_FAILURE_CODES, 'FERRY_ERR_SESSION_CLOSED', 'FERRY_ERR_PEER_GONE'] as ErrorCode[],
    framesRejected: [...SESSION_FAILURE_CODES, 'FERRY_ERR_SESSION_CLOSED'] as ErrorCode[],
    /** Codes an HTTP answer or a send() rejection carries; the peer's hook failure is counted as failed, routes (404, 405) are not messages. */
    messagesRefused: codes.filter((c) => ErrorCodes[c].http !== null && c !== 'FERRY_ERR_REMOTE_HOOK' && c !== 'FERRY_ERR_NOT_FOUND' && c !== 'FERRY_ERR_METHOD'),
    messagesFailed: ['FERRY_ERR_REMOTE_HOOK'] as ErrorCode[],
    hookErrors: (initiator ? (['on_trigger', 'on_receive_initiator'] as const) : (['on_receive_terminator'] as const)).flatMap((hook: HookName) =>
      HOOK_RUN_CODES.filter((c) => c !== 'FERRY_ERR_HOOK_RESULT' || hook === 'on_trigger').map((reason) => ({ hook, reason })),
    ),
    /** The handshake's own codes; TLS refusals are labelled with OpenSSL's code as they come. */
    handshakeFailures: ['FERRY_ERR_HANDSHAKE_TIMEOUT', 'FERRY_ERR_ARMOR_HANDSHAKE', ...(initiator ? [] : ['FERRY_ERR_TOO_MANY_PENDING'])] as ErrorCode[],
    /** The dial's codes and the errno codes a dial to a pod or Service most often gets. */
    dialFailures: initiator ? ['FERRY_ERR_DIAL_FAILED', 'FERRY_ERR_DIAL_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT'] : [],
  };
}

export function createMetrics(role: 'initiator' | 'terminator', options: MetricsOptions = {}) {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  // prom-client's own names (process_*, nodejs_*), which the stock Node.js dashboards query.
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const r = [registry];
  const metrics = {
    registry,
    sessionsTotal: new Counter({ name: 'ferry_sessions_total', help: 'Sessions that completed the hello/welcome handshake.', registers: r }),
    sessionsOpen: new Gauge({ name: 'ferry_sessions_open', help: 'Sessions open right now.', registers: r }),
    sessionsClosed: new Counter({ name: 'ferry_sessions_closed_total', help: 'Sessions that ended, by FERRY_ERR_* reason code.', labelNames: ['reason'] as const, registers: r }),
    messagesSent: new Counter({ name: 'ferry_messages_sent_total', help: 'DATA frames written to a session (first sends and resends).', registers: r }),
    messagesDelivered: new BatchedCounter({ name: 'ferry_messages_delivered_total', help: "Messages the peer acknowledged after its hook succeeded.", registers: r }),
    messagesFailed: new Counter({ name: 'ferry_messages_failed_total', help: "Messages the peer acknowledged although its hook failed, by reason code.", labelNames: ['reason'] as const, registers: r }),
    messagesReceived: new BatchedCounter({ name: 'ferry_messages_received_total', help: 'Messages handed to the local receive hook.', registers: r }),
    /** Messages whose payload is bytes (the rest of ferry_messages_sent_total / _received_total are JSON). */
    binaryMessages: batchedByLabel({ name: 'ferry_binary_messages_total', help: 'Messages whose payload is bytes rather than JSON, by direction: sent counts as ferry_messages_sent_total does (resends too), received as ferry_messages_received_total.', registers: r }, 'direction', ['sent', 'received'] as const),
    messagesRedelivered: new Counter({ name: 'ferry_messages_redelivered_total', help: 'Messages sent again after a reconnect.', registers: r }),
    duplicatesDropped: new Counter({ name: 'ferry_duplicates_dropped_total', help: 'Received messages dropped because they were already delivered.', registers: r }),
    messagesRefused: new Counter({ name: 'ferry_messages_refused_total', help: 'Messages refused to a caller, by reason code.', labelNames: ['reason'] as const, registers: r }),
    hookDuration: new FastHistogram({ name: 'ferry_hook_duration_seconds', help: 'Time each hook run took, failed runs included (async hooks until they settled).', labelNames: ['hook'] as const, buckets: LATENCY_BUCKETS, registers: r }),
    hookErrors: new Counter({ name: 'ferry_hook_errors_total', help: 'Hook runs that threw, rejected, timed out or returned a bad result.', labelNames: ['hook', 'reason'] as const, registers: r }),
    deliveryLatency: new FastHistogram({ name: 'ferry_delivery_latency_seconds', help: "From accepting a message to its acknowledgement, for messages the peer's hook took (a write() message's acknowledgement may wait up to the peer's session.ackDelayMs).", buckets: LATENCY_BUCKETS, registers: r }),
    reconnects: new Counter({ name: 'ferry_reconnects_total', help: 'Dials after a session had been open (start-up dials are not counted).', registers: r }),
    dialFailures: new Counter({ name: 'ferry_dial_failures_total', help: 'Dial attempts that failed, by reason code.', labelNames: ['reason'] as const, registers: r }),
    handshakeFailures: new Counter({ name: 'ferry_handshake_failures_total', help: 'TLS, hello/welcome or armor handshakes that failed, by reason.', labelNames: ['reason'] as const, registers: r }),
    framesRejected: new Counter({ name: 'ferry_frames_rejected_total', help: 'Frames that ended a session, and received DATA payloads that could not be decoded (NACKed, the session goes on), by reason code.', labelNames: ['reason'] as const, registers: r }),
    rekeys: new Counter({ name: 'ferry_rekeys_total', help: 'Armor key rotations inside sessions.', registers: r }),
    /** Read at scrape time from the runtime's outboxes (see `trackOutboxes`). */
    outboxDepth: new Gauge({ name: 'ferry_outbox_depth', help: 'Messages waiting for an acknowledgement.', registers: r, collect() { this.set(outboxDepth(registry)); } }),
    /** Read at scrape time from the runtime's outboxes (see `trackOutboxes`). */
    outboxOldestAge: new Gauge({ name: 'ferry_outbox_oldest_age_seconds', help: 'Age of the oldest message waiting for an acknowledgement (0 when none waits).', registers: r, collect() { this.set(oldestAgeSeconds(registry)); } }),
    circuitOpen: new Gauge({ name: 'ferry_circuit_open', help: '1 when the initiator stopped dialing after reconnect.maxRetries failures.', registers: r }),
    /** Read at scrape time from the certificate in use (see `trackCertificateExpiry`). */
    certExpiry: new Gauge({ name: 'ferry_certificate_expiry_seconds', help: "Seconds until this pod's certificate expires.", registers: r, collect() { this.set(expirySources.get(registry)?.() ?? 0); } }),
    bytesSent: new Counter({ name: 'ferry_session_sent_bytes_total', help: 'Bytes of session frames written (before TLS).', registers: r }),
    bytesReceived: new Counter({ name: 'ferry_session_received_bytes_total', help: 'Bytes of session frames read (after TLS).', registers: r }),
  };
  const known = knownReasons(role);
  for (const reason of known.sessionsClosed) metrics.sessionsClosed.inc({ reason }, 0);
  for (const reason of known.framesRejected) metrics.framesRejected.inc({ reason }, 0);
  for (const reason of known.messagesRefused) metrics.messagesRefused.inc({ reason }, 0);
  for (const reason of known.messagesFailed) metrics.messagesFailed.inc({ reason }, 0);
  for (const reason of known.handshakeFailures) metrics.handshakeFailures.inc({ reason }, 0);
  for (const reason of known.dialFailures) metrics.dialFailures.inc({ reason }, 0);
  for (const labels of known.hookErrors) metrics.hookErrors.inc(labels, 0);
  for (const hook of new Set(known.hookErrors.map((l) => l.hook))) metrics.hookDuration.labels({ hook });
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A message refused to its caller, as a FerryError, counted in ferry_messages_refused_total by its
 * code (except the peer's hook failure, which is a failed delivery, not a refusal).
 */
export function countedRefusal(metrics: Pick<Metrics, 'messagesRefused'>, err: unknown): FerryError {
  const ferr = isFerryError(err) ? err : new FerryError('FERRY_ERR_SESSION_CLOSED', messageOf(err), { cause: err });
  // The peer's hook failed: the session counted it in ferry_messages_failed_total when the ACK came.
  if (ferr.code !== 'FERRY_ERR_REMOTE_HOOK') metrics.messagesRefused.inc({ reason: ferr.code });
  return ferr;
}
