/**
 * Offline validation of rendered manifests, in two parts (after shared/ci-kit's
 * validate-k8s.mjs and strict-k8s-tsc.mjs):
 *  - validateSchemas: each document against the OpenAPI schema of its kind (kubernetes-models;
 *    ServiceMonitor from @kubernetes-models/prometheus-operator): types, enums, required fields.
 *  - findUnknownFields: walks each document beside the TypeScript type of its kind, via the
 *    TypeScript compiler API, and reports every property the type lacks (misspelled fields,
 *    which the JSON schemas let through).
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';

export interface K8sDoc {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: string; namespace?: string };
  [k: string]: unknown;
}

export interface DocReport {
  id: string;
  errors: string[];
}

const require = createRequire(import.meta.url);
const NODE_MODULES = dirname(dirname(require.resolve('kubernetes-models/package.json')));

function modelSpecifier(doc: K8sDoc): string | undefined {
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') return undefined;
  if (doc.apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${doc.apiVersion}/${doc.kind}`;
  return `kubernetes-models/${doc.apiVersion}/${doc.kind}`;
}

export function docId(doc: K8sDoc): string {
  return `${String(doc.kind)}/${doc.metadata?.namespace ? `${doc.metadata.namespace}/` : ''}${doc.metadata?.name ?? '?'}`;
}

interface AjvError {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** Types, enums and required fields, per document; an unknown kind is an error. */
export async function validateSchemas(docs: readonly K8sDoc[]): Promise<DocReport[]> {
  const out: DocReport[] = [];
  for (const doc of docs) {
    const spec = modelSpecifier(doc);
    const errors: string[] = [];
    let Model: (new (d: unknown) => { validate(): void }) | undefined;
    try {
      Model = spec ? ((await import(spec)) as Record<string, typeof Model>)[String(doc.kind)] : undefined;
    } catch {
      Model = undefined;
    }
    if (!Model) errors.push(`no schema for apiVersion=${String(doc.apiVersion)} kind=${String(doc.kind)}`);
    else {
      try {
        new Model(doc).validate();
      } catch (err) {
        const list = ((err as { errors?: AjvError[] }).errors ?? []) as AjvError[];
        if (list.length === 0) errors.push((err as Error).message);
        for (const e of list) {
          const detail = e.keyword === 'enum' ? `must be one of ${JSON.stringify(e.params?.['allowedValues'])}` : (e.message ?? e.keyword);
          errors.push(`${e.instancePath || '/'}: ${detail}`);
        }
      }
    }
    out.push({ id: docId(doc), errors });
  }
  return out;
}

/** Fields a document has that the type of its kind does not declare. */
export function findUnknownFields(docs: readonly K8sDoc[]): DocReport[] {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-k8s-strict-'));
  try {
    symlinkSync(NODE_MODULES, join(dir, 'node_modules'));
    const imports = new Map<string, string>();
    const lines: string[] = [];
    docs.forEach((doc, i) => {
      const spec = modelSpecifier(doc) ?? 'kubernetes-models/v1/Namespace';
      let alias = imports.get(spec);
      if (!alias) {
        alias = `T${imports.size}`;
        imports.set(spec, alias);
      }
      lines.push(`export declare const d${i}: ${alias};`);
    });
    const header = [...imports].map(([spec, alias]) => `import type { I${spec.split('/').pop()} as ${alias} } from "${spec}";`);
    const file = join(dir, 'check.mts');
    writeFileSync(file, [...header, ...lines].join('\n'));
    const program = ts.createProgram([file], {
      noEmit: true, strict: true, skipLibCheck: true, types: [],
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    });
    const setup = ts.getPreEmitDiagnostics(program);
    if (setup.length) throw new Error(setup.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
    const checker = program.getTypeChecker();
    const decls: ts.VariableDeclaration[] = [];
    program.getSourceFile(file)?.forEachChild((n) => {
      const first = ts.isVariableStatement(n) ? n.declarationList.declarations[0] : undefined;
      if (first) decls.push(first);
    });

    const nonNullParts = (type: ts.Type): ts.Type[] =>
      (type.isUnion() ? type.types : [type]).filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    const walk = (value: unknown, type: ts.Type, path: string, errs: string[]): void => {
      if (value === null || typeof value !== 'object') return;
      const parts = nonNullParts(type);
      if (Array.isArray(value)) {
        const arr = parts.find((t) => checker.isArrayType(t) || checker.isTupleType(t));
        const el = arr ? checker.getTypeArguments(arr as ts.TypeReference)[0] : undefined;
        if (el) value.forEach((v, i) => walk(v, el, `${path}/${i}`, errs));
        return;
      }
      const objs = parts.filter((t) => t.flags & ts.TypeFlags.Object && !checker.isArrayType(t));
      if (!objs.length) return;
      for (const [key, v] of Object.entries(value)) {
        let propType: ts.Type | undefined;
        for (const t of objs) {
          const prop = t.getProperty(key);
          propType = prop ? checker.getTypeOfSymbol(prop) : checker.getIndexTypeOfType(t, ts.IndexKind.String);
          if (propType) break;
        }
        if (!propType) errs.push(`${path}/${key}: unknown field "${key}"`);
        else walk(v, propType, `${path}/${key}`, errs);
      }
    };
    return docs.map((doc, i) => {
      const errors: string[] = [];
      const decl = decls[i];
      if (decl) walk(doc, checker.getTypeAtLocation(decl.name), '', errors);
      return { id: docId(doc), errors };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
