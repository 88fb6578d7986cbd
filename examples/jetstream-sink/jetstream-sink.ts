/**
 * Hands Fast Ferry messages to NATS JetStream: one publish per message, awaited until JetStream's
 * publish acknowledgement (PubAck) says the stream stored it, with the Fast Ferry message id as
 * `Nats-Msg-Id`. A message the initiator sends again (the terminator was killed after the
 * publish and before its ACK left) carries the same id, and JetStream drops the second copy
 * within the stream's duplicate window: a reader of the stream sees each message once.
 *
 * Every failure is a JetStreamSinkError with a code and a fix in its message. The hook lets it
 * propagate: Fast Ferry then NACKs the message and its sender's caller is told.
 */
import {
  connect,
  headers,
  nanos,
  millis,
  NatsError,
  StorageType,
  type JetStreamClient,
  type NatsConnection,
  type PubAck,
  type StreamConfig,
} from 'nats';

export const SINK_ERROR_CODES = {
  /** A setting from the environment cannot work. */
  SINK_ERR_CONFIG: 'fix the variable named in the message',
  /** No connection to NATS (refused, timed out, or lost and not back yet). */
  SINK_ERR_NATS_UNREACHABLE: 'start NATS with JetStream (nats-server -js) or point NATS_URL at it',
  /** The stream is missing and cannot be created, or exists with settings that break the guarantee. */
  SINK_ERR_STREAM: 'fix the stream or the NATS_* settings named in the message',
  /** JetStream did not acknowledge the publish (timeout, no responders, stream full). */
  SINK_ERR_PUBLISH: 'check the NATS server and the stream (nats stream info)',
} as const;
export type SinkErrorCode = keyof typeof SINK_ERROR_CODES;

/** What the sink throws: `code` names the failure family, `cause` carries the NATS error. */
export class JetStreamSinkError extends Error {
  override readonly name = 'JetStreamSinkError';
  readonly code: SinkErrorCode;

  constructor(code: SinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[${code}] ${message}`, options);
    this.code = code;
  }
}

export interface SinkSettings {
  /** NATS_URL: one or more server URLs, comma-separated. */
  servers: string[];
  /** NATS_STREAM: the JetStream stream the messages go to. */
  stream: string;
  /** NATS_SUBJECT: the subject each message is published on (the stream must capture it). */
  subject: string;
  /** NATS_STREAM_REPLICAS: replicas when the sink creates the stream (3 in a cluster). */
  replicas: number;
  /** NATS_DUPLICATE_WINDOW_MS: how long JetStream remembers a message id. */
  duplicateWindowMs: number;
  /** NATS_PUBLISH_TIMEOUT_MS: how long a publish waits for its PubAck (and a connect for NATS). */
  publishTimeoutMs: number;
}

export const SINK_DEFAULTS: SinkSettings = {
  servers: ['nats://127.0.0.1:4222'],
  stream: 'FERRY',
  subject: 'ferry.messages',
  replicas: 1,
  // Covers a terminator that is rescheduled and pulls its image, plus the initiator's reconnect
  // backoff: a message can be sent again only while the initiator still holds it unacknowledged.
  duplicateWindowMs: 10 * 60_000,
  // Below the terminator's hooks.timeoutMs (10 s by default), so a slow NATS is reported by
  // this sink's own error rather than as a bare hook timeout.
  publishTimeoutMs: 5_000,
};

/** Reads the NATS_* variables; a value that cannot work throws SINK_ERR_CONFIG naming it. */
export function sinkSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SinkSettings {
  const text = (name: string, fallback: string): string => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new JetStreamSinkError('SINK_ERR_CONFIG', `${name}=${JSON.stringify(env[name])} must be a whole number from ${min} to ${max}`);
    }
    return Number(raw);
  };
  const servers = text('NATS_URL', SINK_DEFAULTS.servers.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const server of servers) {
    if (!/^(nats|tls):\/\/[^\s/]+$|^[^\s:/]+:\d+$/.test(server)) {
      throw new JetStreamSinkError('SINK_ERR_CONFIG', `NATS_URL: ${JSON.stringify(server)} is not a NATS server URL (e.g. nats://nats.nats.svc:4222)`);
    }
  }
  const stream = text('NATS_STREAM', SINK_DEFAULTS.stream);
  // JetStream's own rule for stream names: no whitespace, '.', '*', '>' or path separators.
  if (!/^[^\s.*>/\\]+$/.test(stream)) {
    throw new JetStreamSinkError('SINK_ERR_CONFIG', `NATS_STREAM=${JSON.stringify(stream)} is not a valid stream name (no spaces, '.', '*', '>', '/' or '\\')`);
  }
  const subject = text('NATS_SUBJECT', SINK_DEFAULTS.subject);
  if (!/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(subject)) {
    throw new JetStreamSinkError('SINK_ERR_CONFIG', `NATS_SUBJECT=${JSON.stringify(subject)} must be a literal subject (dot-separated tokens, no wildcards or spaces)`);
  }
  return {
    servers,
    stream,
    subject,
    replicas: int('NATS_STREAM_REPLICAS', SINK_DEFAULTS.replicas, 1, 5),
    duplicateWindowMs: int('NATS_DUPLICATE_WINDOW_MS', SINK_DEFAULTS.duplicateWindowMs, 1_000, 7 * 24 * 3_600_000),
    publishTimeoutMs: int('NATS_PUBLISH_TIMEOUT_MS', SINK_DEFAULTS.publishTimeoutMs, 100, 600_000),
  };
}

/** What the sink needs to know of a Fast Ferry message (TerminatorMessage has all of it). */
export interface SinkMessage {
  id: string;
  seq: number;
  streamId: string;
}

export interface JetStreamSink {
  readonly settings: SinkSettings;
  /** Connects (once, shared) and makes sure the stream exists; publish() calls it too. */
  ready(): Promise<void>;
  /** Publishes one message and resolves with JetStream's PubAck (`duplicate` true for a repeat). */
  publish(payload: unknown, message: SinkMessage): Promise<PubAck>;
  /** Drains and closes the NATS connection. */
  close(): Promise<void>;
}

/** Where the sink reports connection changes (the terminator's console by default). */
export type SinkLog = (line: string) => void;

interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
}

export function createJetStreamSink(settings: SinkSettings, log: SinkLog = (line) => console.log(line)): JetStreamSink {
  const where = settings.servers.join(',');
  let connecting: Promise<Connected> | null = null;
  /** False between a disconnect and the reconnect: publishes fail at once instead of queueing. */
  let online = false;
  let closed = false;
  /** Counts connection attempts, so a stale connection's close does not forget a newer one. */
  let attempts = 0;

  async function open(): Promise<Connected> {
    const attempt = ++attempts;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: settings.servers,
        name: 'fast-ferry-terminator',
        timeout: settings.publishTimeoutMs,
        // Once connected, keep trying for ever: the terminator outlives NATS restarts.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
      });
    } catch (err) {
      throw unreachable(err);
    }
    online = true;
    watchStatus(nc, attempt);
    try {
      await ensureStream(nc);
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
    log(`jetstream-sink: connected to NATS at ${nc.getServer()}, publishing to ${settings.subject} in stream ${settings.stream}`);
    return { nc, js: nc.jetstream({ timeout: settings.publishTimeoutMs }) };
  }

  function watchStatus(nc: NatsConnection, attempt: number): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') {
          online = false;
          log(`jetstream-sink: lost NATS at ${String(status.data)}; messages fail with SINK_ERR_NATS_UNREACHABLE until it is back`);
        } else if (status.type === 'reconnect') {
          online = true;
          log(`jetstream-sink: reconnected to NATS at ${String(status.data)}`);
        }
      }
    })();
    void nc.closed().then(() => {
      // A connection closed for good (not by close()) is replaced on the next message.
      if (closed || attempt !== attempts) return;
      online = false;
      connecting = null;
    });
  }

  /**
   * Creates the stream when it is missing, with the duplicate window set explicitly; checks an
   * existing one, because a window shorter than a terminator restart would let a redelivered
   * message into the stream twice, and a stream that does not capture the subject would leave
   * every publish without a PubAck.
   */
  async function ensureStream(nc: NatsConnection): Promise<void> {
    let jsm;
    try {
      jsm = await nc.jetstreamManager({ timeout: settings.publishTimeoutMs });
    } catch (err) {
      throw new JetStreamSinkError('SINK_ERR_STREAM', `NATS at ${where} has no JetStream (${describe(err)}): start nats-server with -js, or enable jetstream in the NATS Helm chart`, { cause: err });
    }
    let existing: StreamConfig;
    try {
      existing = (await jsm.streams.info(settings.stream)).config;
    } catch (err) {
      if (!(err instanceof NatsError) || err.jsError()?.err_code !== 10059) {
        throw new JetStreamSinkError('SINK_ERR_STREAM', `cannot look up stream ${settings.stream}: ${describe(err)}`, { cause: err });
      }
      try {
        await jsm.streams.add({
          name: settings.stream,
          subjects: [settings.subject],
          storage: StorageType.File,
          num_replicas: settings.replicas,
          duplicate_window: nanos(settings.duplicateWindowMs),
        });
      } catch (addErr) {
        throw new JetStreamSinkError(
          'SINK_ERR_STREAM',
          `stream ${settings.stream} does not exist and cannot be created (${describe(addErr)}): create it with subject ${settings.subject}, file storage and a duplicate window of at least ${settings.duplicateWindowMs} ms, or fix NATS_STREAM_REPLICAS`,
          { cause: addErr },
        );
      }
      log(`jetstream-sink: created stream ${settings.stream} (subject ${settings.subject}, file storage, ${settings.replicas} replica(s), duplicate window ${settings.duplicateWindowMs} ms)`);
      return;
    }
    const windowMs = millis(existing.duplicate_window ?? 0);
    if (windowMs < settings.duplicateWindowMs) {
      throw new JetStreamSinkError(
        'SINK_ERR_STREAM',
        `stream ${settings.stream} remembers message ids for ${windowMs} ms, less than NATS_DUPLICATE_WINDOW_MS=${settings.duplicateWindowMs}: a redelivery after a terminator restart could be stored twice. Raise it (nats stream edit ${settings.stream} --dupe-window=${Math.ceil(settings.duplicateWindowMs / 1000)}s) or lower NATS_DUPLICATE_WINDOW_MS`,
      );
    }
    if (!(existing.subjects ?? []).some((pattern) => captures(pattern, settings.subject))) {
      throw new JetStreamSinkError('SINK_ERR_STREAM', `stream ${settings.stream} does not capture subject ${settings.subject} (its subjects: ${(existing.subjects ?? []).join(', ') || 'none'}): add it to the stream or fix NATS_SUBJECT`);
    }
  }

  function unreachable(err: unknown): JetStreamSinkError {
    return new JetStreamSinkError('SINK_ERR_NATS_UNREACHABLE', `cannot reach NATS at ${where} (${describe(err)}): ${SINK_ERROR_CODES.SINK_ERR_NATS_UNREACHABLE}`, { cause: err });
  }

  async function connected(): Promise<Connected> {
    if (closed) throw new JetStreamSinkError('SINK_ERR_NATS_UNREACHABLE', 'the sink was closed');
    if (!connecting) {
      connecting = open();
      // A failed attempt is forgotten, so the next message tries again.
      connecting.catch(() => {
        connecting = null;
      });
    }
    return connecting;
  }

  const encoder = new TextEncoder();

  return {
    settings,
    async ready() {
      await connected();
    },
    async publish(payload, message) {
      const { js } = await connected();
      // While the client reconnects it would buffer the publish and the PubAck wait would run
      // out anyway: fail now, with the reason, and let the sender's caller know at once.
      if (!online) throw unreachable(new Error('disconnected, reconnecting'));
      const data = payload instanceof Uint8Array ? payload : encoder.encode(JSON.stringify(payload));
      const h = headers();
      h.set('Ferry-Stream-Id', message.streamId);
      h.set('Ferry-Seq', String(message.seq));
      try {
        return await js.publish(settings.subject, data, { msgID: message.id, headers: h, timeout: settings.publishTimeoutMs });
      } catch (err) {
        if (!online) throw unreachable(err);
        throw new JetStreamSinkError('SINK_ERR_PUBLISH', `JetStream did not acknowledge ${message.id} on ${settings.subject} (${describe(err)}): ${SINK_ERROR_CODES.SINK_ERR_PUBLISH}`, { cause: err });
      }
    },
    async close() {
      closed = true;
      const current = connecting;
      connecting = null;
      if (!current) return;
      const c = await current.catch(() => null);
      if (!c || c.nc.isClosed()) return;
      // Drain flushes what is in flight; while reconnecting there is nothing to flush, and
      // draining would wait on the reconnect loop instead of ending it.
      if (online) await c.nc.drain();
      else await c.nc.close();
    },
  };
}

/** Does a stream subject pattern (`*` one token, `>` the rest) capture a literal subject? */
export function captures(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i += 1) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

function describe(err: unknown): string {
  if (err instanceof NatsError) return err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
  return err instanceof Error ? err.message : String(err);
}
