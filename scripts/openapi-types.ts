/**
 * `npm run openapi:types`: writes the portal's API types (web/src/api/generated.ts) from the
 * server's OpenAPI document, so that the portal never restates a server shape by hand.
 *
 *   npm run openapi:types            regenerate the file
 *   npm run openapi:types -- --check exit 1 when the checked-in file differs from what it would be
 *
 * The document is the one the server serves at GET /api/v1/openapi.json, built by a real platform
 * on a temporary data directory (nothing is listened on). `typesFromOpenApi` is the pure part:
 * each `components.schemas` entry becomes an exported type, and each operation with a documented
 * request or response body an entry of `ApiOperations` keyed `"METHOD /path"` (paths relative to
 * /api/v1). It covers the JSON Schema the document uses: $ref, type (and type lists), enum,
 * const, properties/required, additionalProperties, items, oneOf/anyOf (unions), allOf
 * (intersections) and OpenAPI 3.0's nullable; anything else is `unknown`, never a guess.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GENERATED_PATH = fileURLToPath(new URL('../web/src/api/generated.ts', import.meta.url));

type Schema = Readonly<Record<string, unknown>>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** A type name from a component name (`Foo.Bar-baz` → `FooBarbaz`), refused when nothing is left. */
function typeName(component: string): string {
  const name = component.replace(/[^A-Za-z0-9_$]/g, '');
  if (!IDENTIFIER.test(name)) throw new Error(`openapi-types: component schema name ${JSON.stringify(component)} makes no TypeScript name`);
  return name;
}

function refName(ref: string): string {
  const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
  if (m?.[1] === undefined) throw new Error(`openapi-types: only local component references are supported, not ${JSON.stringify(ref)}`);
  return typeName(m[1]);
}

function doc(text: unknown, indent: string): string {
  if (typeof text !== 'string' || text.trim() === '') return '';
  const lines = text.trim().replace(/\*\//g, '*\\/').split('\n');
  return lines.length === 1 ? `${indent}/** ${lines[0] ?? ''} */\n` : `${indent}/**\n${lines.map((l) => `${indent} * ${l}`).join('\n')}\n${indent} */\n`;
}

/** Wraps a union, intersection or readonly array so that it can be an array's item or a member of another. */
function atom(t: string): string {
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i] ?? '';
    if ('{[(<'.includes(c)) depth++;
    else if ('}])>'.includes(c)) depth--;
    else if (depth === 0 && (t.startsWith(' | ', i) || t.startsWith(' & ', i))) return `(${t})`;
  }
  return t.startsWith('readonly ') ? `(${t})` : t;
}
const union = (ts: readonly string[]): string => {
  const unique = [...new Set(ts)];
  return unique.length === 0 ? 'never' : unique.length === 1 ? (unique[0] ?? 'never') : unique.map(atom).join(' | ');
};

/** The TypeScript type of a JSON Schema, written at `indent` (object members one level deeper). */
export function typeOf(s: unknown, indent = ''): string {
  if (s === true || (isRecord(s) && Object.keys(s).filter((k) => k !== 'description' && k !== 'format' && k !== 'title').length === 0)) return 'unknown';
  if (!isRecord(s)) return 'unknown';
  const base = bareType(s, indent);
  return s['nullable'] === true ? union([base, 'null']) : base;
}

function bareType(s: Schema, indent: string): string {
  if (typeof s['$ref'] === 'string') return refName(s['$ref']);
  if ('const' in s) return JSON.stringify(s['const']);
  if (Array.isArray(s['enum'])) return union(s['enum'].map((v) => JSON.stringify(v)));
  for (const k of ['oneOf', 'anyOf'] as const) {
    const alts = s[k];
    if (Array.isArray(alts)) return union(alts.map((a) => typeOf(a, indent)));
  }
  if (Array.isArray(s['allOf'])) return s['allOf'].map((a) => atom(typeOf(a, indent))).join(' & ');
  const t = s['type'];
  if (Array.isArray(t)) return union(t.map((one) => bareType({ ...s, type: one }, indent)));
  switch (t) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `readonly ${atom(typeOf(s['items'], indent))}[]`;
    case 'object':
      return objectType(s, indent);
    default:
      return isRecord(s['properties']) ? objectType(s, indent) : 'unknown';
  }
}

function objectType(s: Schema, indent: string): string {
  const props = isRecord(s['properties']) ? s['properties'] : {};
  const required = new Set(Array.isArray(s['required']) ? s['required'].filter((r): r is string => typeof r === 'string') : []);
  const extra = s['additionalProperties'];
  // an index signature rather than Record<>: a schema may refer to itself through it (CellValue)
  const record = `{ readonly [key: string]: ${isRecord(extra) ? typeOf(extra, indent) : 'unknown'} }`;
  const names = Object.keys(props);
  if (names.length === 0) return record;
  const inner = `${indent}  `;
  const members = names.map((n) => {
    const p = props[n];
    const key = IDENTIFIER.test(n) ? n : JSON.stringify(n);
    return `${doc(isRecord(p) ? p['description'] : undefined, inner)}${inner}readonly ${key}${required.has(n) ? '' : '?'}: ${typeOf(p, inner)};`;
  });
  const literal = `{\n${members.join('\n')}\n${indent}}`;
  return isRecord(extra) ? `${literal} & ${record}` : literal;
}

/** The JSON schema of an operation's request body or success response, if it documents one. */
function jsonSchemaOf(x: unknown): unknown {
  if (!isRecord(x) || !isRecord(x['content'])) return undefined;
  const json = x['content']['application/json'];
  return isRecord(json) ? json['schema'] : undefined;
}

/**
 * The declaration file for an OpenAPI 3.x document: component schemas as types, operations in
 * `ApiOperations`.
 *
 * @example
 *   typesFromOpenApi({ openapi: '3.1.0', paths: {}, components: { schemas: { Id: { type: 'string' } } } })
 *   // → '…export type Id = string;…'
 */
export function typesFromOpenApi(document: unknown): string {
  if (!isRecord(document) || typeof document['openapi'] !== 'string' || !document['openapi'].startsWith('3.')) {
    throw new Error('openapi-types: not an OpenAPI 3.x document (no "openapi": "3.…" field)');
  }
  const out: string[] = [
    '/**',
    ' * GENERATED FILE: do not edit. The Enclave API\'s types, generated from the server\'s OpenAPI',
    ' * document (GET /api/v1/openapi.json) by scripts/openapi-types.ts: run `npm run openapi:types`',
    ' * after changing a route or src/http/api-schemas.ts. scripts/openapi-types.test.ts fails when',
    ' * this file differs from what the generator produces.',
    ' */',
    '/* eslint-disable */',
    '',
  ];
  const components = isRecord(document['components']) && isRecord(document['components']['schemas']) ? document['components']['schemas'] : {};
  for (const name of Object.keys(components).sort()) {
    const s = components[name];
    out.push(`${doc(isRecord(s) ? s['description'] : undefined, '')}export type ${typeName(name)} = ${typeOf(s)};`, '');
    // A string enumeration also gives its values, so that the portal lists them (select options,
    // filters) from the server's own table instead of a copy.
    if (isRecord(s) && s['type'] === 'string' && Array.isArray(s['enum']) && s['enum'].every((v) => typeof v === 'string')) {
      out.push(`/** The values of {@link ${typeName(name)}}, in the server's order. */`, `export const ${typeName(name)}Values: readonly ${typeName(name)}[] = ${JSON.stringify(s['enum'])};`, '');
    }
  }
  const ops: string[] = [];
  const paths = isRecord(document['paths']) ? document['paths'] : {};
  for (const path of Object.keys(paths).sort()) {
    const item = paths[path];
    if (!isRecord(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isRecord(op)) continue;
      const body = isRecord(op['requestBody']) ? jsonSchemaOf(op['requestBody']) : undefined;
      const responses = isRecord(op['responses']) ? op['responses'] : {};
      const success = Object.keys(responses).sort().find((code) => /^2(\d\d|XX)$/.test(code));
      const response = success === undefined ? undefined : jsonSchemaOf(responses[success]);
      if (body === undefined && response === undefined) continue;
      const members = [
        ...(body === undefined ? [] : [`    readonly body: ${typeOf(body, '    ')};`]),
        `    readonly response: ${response === undefined ? 'unknown' : typeOf(response, '    ')};`,
        ...(success === undefined ? [] : [`    readonly status: ${/^\d+$/.test(success) ? success : 'number'};`]),
      ];
      ops.push(`${doc(op['summary'], '  ')}  ${JSON.stringify(`${method.toUpperCase()} ${path}`)}: {\n${members.join('\n')}\n  };`);
    }
  }
  out.push(
    '/** Each operation that documents a JSON body, by "METHOD /path" (relative to /api/v1). */',
    `export interface ApiOperations {\n${ops.join('\n')}\n}`,
    '',
    '/** The success response body of an operation. */',
    "export type ApiResponse<K extends keyof ApiOperations> = ApiOperations[K]['response'];",
    '',
  );
  return out.join('\n');
}

/** A route the app registers: its method and its path as Hono spells it (`/api/v1/x/:id`). */
export interface RegisteredRoute {
  readonly method: string;
  readonly path: string;
}

/**
 * The OpenAPI document a real platform serves, and the routes its app registers, from a platform
 * built on a temporary data directory (nothing listens).
 */
export async function servedApi(): Promise<{ readonly document: unknown; readonly routes: readonly RegisteredRoute[] }> {
  const { loadConfig } = await import('../src/config.ts');
  const { createApp, createPlatform } = await import('../src/main.ts');
  const dir = await mkdtemp(join(tmpdir(), 'enclave-openapi-'));
  try {
    const config = loadConfig({ ENCLAVE_DATA_DIR: join(dir, 'data'), ENCLAVE_KEYRING: join(dir, 'keyring.json'), ENCLAVE_PORT: '0', ENCLAVE_AUDIT_CHECKPOINT_SECONDS: '0' });
    const platform = await createPlatform(config, { kind: 'service', id: 'openapi-types' });
    try {
      const app = createApp(platform);
      const res = await app.request('/api/v1/openapi.json');
      if (res.status !== 200) throw new Error(`openapi-types: GET /api/v1/openapi.json answered ${res.status}`);
      const routes = new Map<string, RegisteredRoute>();
      for (const r of app.routes) routes.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
      return { document: await res.json(), routes: [...routes.values()] };
    } finally {
      await platform.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = typesFromOpenApi((await servedApi()).document);
  if (process.argv.includes('--check')) {
    const current = await readFile(GENERATED_PATH, 'utf8').catch(() => '');
    if (current !== text) {
      process.stderr.write(`${GENERATED_PATH} is out of date: run npm run openapi:types\n`);
      process.exitCode = 1;
    }
  } else {
    await writeFile(GENERATED_PATH, text);
    process.stdout.write(`wrote ${GENERATED_PATH}\n`);
  }
}
