/**
 * blueprint → Helm values for charts/fast-ferry. Only what the blueprint decides is written;
 * everything else keeps the chart's values.yaml defaults.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { CONFIG_SCHEMA } from '@fast-ferry/core';
import { NonDecimalNumber, validateBlueprint, type Blueprint } from './blueprint-schema.js';

export interface RenderOptions {
  /** Image tags by component (deploy.sh passes content hashes); unset keeps the chart default. */
  readonly tags?: Readonly<Partial<Record<'initiator' | 'terminator', string>>>;
  /** A hash of the certificates, so a rotation rolls the pods. */
  readonly tlsChecksum?: string;
}

/** Seconds of grace beyond the drain timeout before Kubernetes kills a pod. */
export const GRACE_MARGIN_SECONDS = 20;

const DECIMAL_INT = /^-?[0-9]+$/;
const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;

/** js-yaml's built-in types (exported at run time, absent from @types/js-yaml). */
const TYPES = (yaml as unknown as { types: Record<'null' | 'bool' | 'int' | 'float', yaml.Type & { resolve(s: string): boolean }> }).types;

/**
 * YAML types for blueprint.yaml: YAML 1.2 core (null, booleans, numbers), except that only a
 * number written in plain decimal digits becomes a number. Another number form (0x1f4, 0o17,
 * 1.5e3, 1_000, .inf) becomes a NonDecimalNumber that validation refuses by key, as the pods'
 * config loader refuses it; a quoted scalar stays a string.
 */
export const BLUEPRINT_YAML_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    TYPES.null,
    TYPES.bool,
    new yaml.Type('tag:yaml.org,2002:int', { kind: 'scalar', resolve: (s: string) => DECIMAL_INT.test(s), construct: (s: string) => Number(s) }),
    new yaml.Type('tag:yaml.org,2002:float', { kind: 'scalar', resolve: (s: string) => DECIMAL.test(s), construct: (s: string) => Number(s) }),
    new yaml.Type('tag:fast-ferry,2026:non-decimal', {
      kind: 'scalar',
      resolve: (s: string) => TYPES.int.resolve(s) || TYPES.float.resolve(s),
      construct: (s: string) => new NonDecimalNumber(s),
    }),
  ],
});

/** Reads and validates a blueprint file; errors name the file, the key and the expected form. */
export function loadBlueprint(file: string): Blueprint {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: BLUEPRINT_YAML_SCHEMA, filename: file });
  } catch (err) {
    throw new Error(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateBlueprint(doc, file);
}

/** The terminationGracePeriodSeconds that leaves the pods time to drain. */
export function gracePeriodSeconds(bp: Blueprint): number {
  const drainMs = bp.runtime['session']?.['drainTimeoutMs'] ?? CONFIG_SCHEMA['session.drainTimeoutMs'].default;
  return Math.max(30, Math.ceil(Number(drainMs) / 1000) + GRACE_MARGIN_SECONDS);
}

export function renderValues(bp: Blueprint, options: RenderOptions = {}): Record<string, unknown> {
  const component = (name: 'initiator' | 'terminator') => {
    const tag = options.tags?.[name];
    return {
      replicaCount: bp.replicas[name],
      image: { repository: bp.images[name], ...(tag ? { tag } : {}) },
      resources: { requests: { ...bp.resources[name].requests }, limits: { ...bp.resources[name].limits } },
      ...(bp.resources[name].nodeOptions !== undefined ? { nodeOptions: bp.resources[name].nodeOptions } : {}),
    };
  };
  const config: Record<string, Record<string, string | number>> = {};
  for (const [section, body] of Object.entries(bp.runtime)) config[section] = { ...body };
  const monitoring: Record<string, Record<string, unknown>> = {};
  for (const [section, body] of Object.entries(bp.monitoring)) monitoring[section] = structuredClone({ ...body });
  return {
    config,
    ...monitoring,
    terminationGracePeriodSeconds: gracePeriodSeconds(bp),
    topologySpread: { enabled: bp.replicas.topologySpread },
    ...(options.tlsChecksum ? { tls: { checksum: options.tlsChecksum } } : {}),
    initiator: component('initiator'),
    terminator: component('terminator'),
    ...(bp.trigger.authSecret ? { trigger: { auth: { existingSecret: bp.trigger.authSecret, key: 'token' } } } : {}),
  };
}

export function renderValuesYaml(bp: Blueprint, options: RenderOptions = {}): string {
  return `# Rendered from blueprint.yaml by tools/dist/blueprint.js; do not edit (edit blueprint.yaml).\n${yaml.dump(renderValues(bp, options), { lineWidth: 120, noRefs: true })}`;
}
