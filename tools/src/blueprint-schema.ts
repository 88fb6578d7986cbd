/**
 * blueprint.yaml: its schema and validator. The runtime sections (session, reconnect, hooks,
 * autoTrigger, armor, log, http) take their keys, bounds and forms from the apps' own
 * CONFIG_SCHEMA, so the blueprint cannot accept a value the pods would reject; the bundle-level
 * sections (bundle, cluster, images, resources) are described here. Every error names the key,
 * the bad value and the expected form; the result is frozen.
 */
import { CONFIG_SCHEMA, FORMAT_CHECKS, FORMAT_DOCS } from '@fast-ferry/core';
import { CHART_OWNED_KEYS } from './chart-schema.js';
import { monitoringOf, type Monitoring } from './blueprint-monitoring.js';
import { nodeOptionsRefusal } from './node-options.js';

type RuntimeLeaf = (typeof CONFIG_SCHEMA)[keyof typeof CONFIG_SCHEMA];

export interface ResourceList {
  readonly cpu: string;
  readonly memory: string;
}
export interface Resources {
  readonly requests: ResourceList;
  readonly limits: ResourceList;
  /** NODE_OPTIONS for the app's container, replacing its image's (tools/src/node-options.ts); unset keeps the image's. */
  readonly nodeOptions?: string;
}
export type RuntimeSettings = Readonly<Record<string, Readonly<Record<string, string | number>>>>;

/** Pods per app; each initiator pod is its own stream with its own auto-trigger. */
export interface Replicas {
  readonly initiator: number;
  readonly terminator: number;
  /** Spread each app's pods over nodes (a preference: ScheduleAnyway). */
  readonly topologySpread: boolean;
}

/**
 * Bounds of a replica count. At least 1: with 0 pods of an app nothing streams and verify
 * cannot pass (scaling to zero is `kubectl scale`, not a deploy). At most 100, the chart's own
 * cap (values.schema.json): beyond it a count is more likely a typo than a plan, each
 * initiator pod opens its own session and sends its own auto-trigger, and the chart's
 * one-pod-at-a-time rollout (maxSurge 1) would take minutes.
 */
export const REPLICAS_MIN = 1;
export const REPLICAS_MAX = 100;

export interface Blueprint {
  readonly bundle: { readonly name: string };
  readonly cluster: { readonly name: string };
  readonly images: { readonly nodeImage: string; readonly initiator: string; readonly terminator: string };
  readonly resources: { readonly initiator: Resources; readonly terminator: Resources };
  /** The replicas section; 1 pod per app when left out. */
  readonly replicas: Replicas;
  /** The runtime sections, as given (unset keys keep the apps' defaults). */
  readonly runtime: RuntimeSettings;
  /** The monitoring section, as given (unset keys keep the chart's defaults). */
  readonly monitoring: Monitoring;
  /** POST /trigger: the Secret (initiator namespace) holding its bearer token; '' = no token. */
  readonly trigger: { readonly authSecret: string };
}

/**
 * A scalar YAML would read as a number but not written in plain decimal digits (0x1f4, 1.5e3,
 * 1_000, .inf): the blueprint's YAML schema (render-values.ts) yields this instead of the
 * number, so validation refuses it naming the key rather than passing 500 on for 0x1f4.
 * The pods' config loader refuses such numbers the same way.
 */
export class NonDecimalNumber {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

/** A blueprint.yaml problem: `key` is the dotted path, `expected` the form it must have. */
export class BlueprintError extends Error {
  override readonly name = 'BlueprintError';
  readonly code = 'FERRY_ERR_BLUEPRINT';
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly expected: string,
    readonly file = 'blueprint.yaml',
  ) {
    super(`${file}: ${key}: got ${show(value)}, expected ${expected}`);
  }
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IMAGE_REPO = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const IMAGE_REF = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const CPU = /^([0-9]+m|[0-9]+(\.[0-9]+)?)$/;
const MEMORY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

const BUNDLE_SECTIONS = ['bundle', 'cluster', 'images', 'resources', 'replicas', 'monitoring', 'trigger'] as const;
/** A Secret's name: a DNS subdomain. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Runtime sections a blueprint may carry: those of CONFIG_SCHEMA with a key the chart does not own. */
export function runtimeSections(): string[] {
  const sections = new Set<string>();
  for (const key of Object.keys(CONFIG_SCHEMA)) if (!(key in CHART_OWNED_KEYS)) sections.add(key.split('.')[0] as string);
  return [...sections];
}

/** Validates a parsed blueprint.yaml document; throws BlueprintError on the first problem. */
export function validateBlueprint(doc: unknown, file = 'blueprint.yaml'): Blueprint {
  const fail = (key: string, value: unknown, expected: string): never => {
    throw new BlueprintError(key, value, expected, file);
  };
  const root = mapping(doc, '(top level)', fail);
  refuseNonDecimal(root, '', fail);
  const known = [...BUNDLE_SECTIONS, ...runtimeSections()];
  for (const key of Object.keys(root)) {
    if (!known.includes(key)) {
      if (key === 'tls') fail(key, root[key], `no tls section (${CHART_OWNED_KEYS['tls.caFile']}; deploy.sh issues the certificates)`);
      fail(key, root[key], `one of the sections ${known.join(', ')}`);
    }
  }

  const bundle = section(root, 'bundle', ['name'], fail);
  const name = dnsLabel(bundle['name'], 'bundle.name', 53, fail);
  const cluster = section(root, 'cluster', ['name'], fail);
  const clusterName = dnsLabel(cluster['name'], 'cluster.name', 32, fail);

  const images = section(root, 'images', ['nodeImage', 'initiator', 'terminator'], fail);
  const nodeImage = pattern(images['nodeImage'], 'images.nodeImage', IMAGE_REF, 'an image reference such as node:20-bookworm-slim', fail);
  const initiator = pattern(images['initiator'], 'images.initiator', IMAGE_REPO, 'an image repository without a tag, such as fast-ferry/initiator (deploy.sh tags it)', fail);
  const terminator = pattern(images['terminator'], 'images.terminator', IMAGE_REPO, 'an image repository without a tag, such as fast-ferry/terminator (deploy.sh tags it)', fail);

  const resources = section(root, 'resources', ['initiator', 'terminator'], fail);
  const res = {
    initiator: resourcesOf(resources['initiator'], 'resources.initiator', fail),
    terminator: resourcesOf(resources['terminator'], 'resources.terminator', fail),
  };

  const replicas = replicasOf(root, fail);
  const monitoring = monitoringOf(root['monitoring'], fail);
  const trigger = triggerOf(root, fail);

  const runtime: Record<string, Record<string, string | number>> = {};
  for (const sectionName of runtimeSections()) {
    if (!(sectionName in root) || root[sectionName] === null) continue;
    const body = mapping(root[sectionName], sectionName, fail);
    for (const [leafName, value] of Object.entries(body)) {
      const key = `${sectionName}.${leafName}`;
      const owned = CHART_OWNED_KEYS[key];
      if (owned) fail(key, value, `no ${key} here (${owned})`);
      const leaf = (CONFIG_SCHEMA as Record<string, RuntimeLeaf>)[key];
      if (!leaf) fail(key, value, `one of ${sectionKeys(sectionName).join(', ')}`);
      (runtime[sectionName] ??= {})[leafName] = runtimeValue(key, leaf as RuntimeLeaf, value, fail);
    }
  }

  return deepFreeze({
    bundle: { name },
    cluster: { name: clusterName },
    images: { nodeImage, initiator, terminator },
    resources: res,
    replicas,
    runtime,
    monitoring,
    trigger,
  });
}

/** The optional trigger section: authSecret, the Secret with POST /trigger's bearer token. */
function triggerOf(root: Record<string, unknown>, fail: Fail): { authSecret: string } {
  if (!('trigger' in root) || root['trigger'] === null) return { authSecret: '' };
  const body = section(root, 'trigger', [], fail, '', ['authSecret']);
  const secret = body['authSecret'] ?? '';
  if (typeof secret !== 'string' || (secret !== '' && (secret.length > 253 || !DNS_SUBDOMAIN.test(secret)))) {
    return fail('trigger.authSecret', secret, 'the name of a Secret in the initiator namespace holding the token under the key `token` (kubectl create secret generic trigger-token --from-literal token=...), or "" for no token');
  }
  return { authSecret: secret };
}

/** The optional replicas section: initiator and terminator counts, topologySpread. */
function replicasOf(root: Record<string, unknown>, fail: Fail): Replicas {
  if (!('replicas' in root) || root['replicas'] === null) return { initiator: 1, terminator: 1, topologySpread: false };
  const body = section(root, 'replicas', [], fail, '', ['initiator', 'terminator', 'topologySpread']);
  const count = (app: 'initiator' | 'terminator'): number => {
    const value = body[app] ?? 1;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < REPLICAS_MIN || value > REPLICAS_MAX) {
      return fail(`replicas.${app}`, value, `an integer from ${REPLICAS_MIN} to ${REPLICAS_MAX} (pods of the ${app}; each initiator pod is its own stream)`);
    }
    return value;
  };
  const spread = body['topologySpread'] ?? false;
  if (typeof spread !== 'boolean') fail('replicas.topologySpread', spread, 'true or false (spread each app\'s pods over nodes when it can)');
  return { initiator: count('initiator'), terminator: count('terminator'), topologySpread: spread as boolean };
}

/** The runtime value a key may have, per CONFIG_SCHEMA (the same bounds the pods enforce). */
function runtimeValue(key: string, leaf: RuntimeLeaf, value: unknown, fail: Fail): string | number {
  switch (leaf.kind) {
    case 'int':
    case 'number': {
      const isInt = leaf.kind === 'int';
      if (typeof value !== 'number' || !Number.isFinite(value) || (isInt && !Number.isInteger(value)) || value < leaf.min || value > leaf.max) {
        return fail(key, value, `${isInt ? 'an integer' : 'a number'} from ${leaf.min} to ${leaf.max}`);
      }
      return value;
    }
    case 'enum': {
      const values: readonly string[] = leaf.values;
      if (typeof value !== 'string' || !values.includes(value)) return fail(key, value, `one of ${values.join(', ')}`);
      return value;
    }
    case 'string': {
      if (typeof value !== 'string') return fail(key, value, 'a string');
      const re: RegExp | undefined = 'pattern' in leaf ? leaf.pattern : undefined;
      if (value !== '' && re && !re.test(value)) return fail(key, value, ('patternDoc' in leaf ? leaf.patternDoc : undefined) ?? `a string matching ${re}`);
      // The pods' loader runs the same check at start-up (exit 78): refuse here what it would.
      const format = 'format' in leaf ? leaf.format : undefined;
      if (format !== undefined && !(value === '' && leaf.default === '')) {
        const problem = FORMAT_CHECKS[format](value);
        if (problem !== undefined) return fail(key, value, `${FORMAT_DOCS[format]}; here ${problem}`);
      }
      return value;
    }
  }
}

export type Fail = (key: string, value: unknown, expected: string) => never;

/** Fails on the first number anywhere in the document that is not written in decimal digits. */
function refuseNonDecimal(value: unknown, path: string, fail: Fail): void {
  if (value instanceof NonDecimalNumber) {
    fail(path, value.text, 'a number in plain decimal digits, such as 500 or 1.5 (YAML would read hex, octal, an exponent or a sign as another number, and the pods refuse them)');
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [k, inner] of Object.entries(value)) refuseNonDecimal(inner, path === '' ? k : `${path}.${k}`, fail);
}

function sectionKeys(sectionName: string): string[] {
  return Object.keys(CONFIG_SCHEMA)
    .filter((k) => k.startsWith(`${sectionName}.`) && !(k in CHART_OWNED_KEYS))
    .map((k) => k.slice(sectionName.length + 1));
}

export function mapping(value: unknown, key: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(key, value, 'a mapping (key: value lines)');
  return value as Record<string, unknown>;
}

/** A required mapping with exactly the given keys, and maybe some of the optional ones. */
function section(parent: Record<string, unknown>, key: string, keys: readonly string[], fail: Fail, prefix = '', optional: readonly string[] = []): Record<string, unknown> {
  const path = `${prefix}${key}`;
  if (!(key in parent)) fail(path, undefined, `a ${path} section with ${keys.join(', ')}`);
  const body = mapping(parent[key], path, fail);
  const allowed = [...keys, ...optional];
  for (const k of Object.keys(body)) if (!allowed.includes(k)) fail(`${path}.${k}`, body[k], `one of ${allowed.map((x) => `${path}.${x}`).join(', ')}`);
  for (const k of keys) if (!(k in body)) fail(`${path}.${k}`, undefined, `a value (${path} needs ${keys.join(', ')})`);
  return body;
}

function dnsLabel(value: unknown, key: string, max: number, fail: Fail): string {
  if (typeof value !== 'string' || value.length > max || !DNS_LABEL.test(value)) {
    return fail(key, value, `a lower-case DNS label of at most ${max} characters (letters, digits, '-'), such as fast-ferry`);
  }
  return value;
}

function pattern(value: unknown, key: string, re: RegExp, expected: string, fail: Fail): string {
  if (typeof value !== 'string' || !re.test(value)) return fail(key, value, expected);
  return value;
}

function resourcesOf(value: unknown, key: string, fail: Fail): Resources {
  const parent = { [key]: mapping(value, key, fail) };
  const lists = section(parent, key, ['requests', 'limits'], fail, '', ['nodeOptions']);
  const out: Record<string, ResourceList> = {};
  for (const kind of ['requests', 'limits'] as const) {
    const list = section(lists, kind, ['cpu', 'memory'], fail, `${key}.`);
    const cpu = quantity(list['cpu'], `${key}.${kind}.cpu`, CPU, "a CPU quantity such as 250m or 1 (quote it: '1')", fail);
    const memory = quantity(list['memory'], `${key}.${kind}.memory`, MEMORY, 'a memory quantity such as 128Mi or 1Gi', fail);
    out[kind] = { cpu, memory };
  }
  const requests = out['requests'] as ResourceList;
  const limits = out['limits'] as ResourceList;
  if (cpuMillis(requests.cpu) > cpuMillis(limits.cpu)) fail(`${key}.requests.cpu`, requests.cpu, `at most ${key}.limits.cpu (${limits.cpu})`);
  if (memoryBytes(requests.memory) > memoryBytes(limits.memory)) fail(`${key}.requests.memory`, requests.memory, `at most ${key}.limits.memory (${limits.memory})`);
  if (!('nodeOptions' in lists)) return { requests, limits };
  return { requests, limits, nodeOptions: nodeOptionsOf(lists['nodeOptions'], `${key}.nodeOptions`, fail) };
}

/**
 * NODE_OPTIONS that Node starts with: tried on this Node (the images' is Node 20, as the
 * tools' engines), so that a flag Node refuses in NODE_OPTIONS or a bad value is named here
 * instead of stopping the pod at start.
 */
function nodeOptionsOf(value: unknown, key: string, fail: Fail): string {
  if (typeof value !== 'string') return fail(key, value, "Node options as one string, such as '--max-semi-space-size=16' ('' for V8's defaults)");
  if (value === '') return value;
  const why = nodeOptionsRefusal(value);
  if (why !== undefined) return fail(key, value, `options Node starts with in NODE_OPTIONS (node said: ${why})`);
  return value;
}

function quantity(value: unknown, key: string, re: RegExp, expected: string, fail: Fail): string {
  const text = typeof value === 'number' && Number.isFinite(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string' || !re.test(text)) return fail(key, value, expected);
  return text;
}

export function cpuMillis(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000;
}

const MEMORY_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
export function memoryBytes(q: string): number {
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(q);
  return m ? Number(m[1]) * (MEMORY_UNITS[m[2] ?? ''] ?? Number.NaN) : Number.NaN;
}

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
