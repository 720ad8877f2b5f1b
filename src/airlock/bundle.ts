/**
 * Released outputs as files, and the signed release bundle: pure functions (node's crypto only),
 * so that `enclave airlock verify BUNDLE` checks a bundle offline, with nothing of the platform.
 *
 * A bundle is one JSON file (format `enclave-airlock-bundle/1`, docs/airlock.md):
 *
 *     { "format": "enclave-airlock-bundle/1",
 *       "manifest": { release, request, outputs (name, file, sha256, lineage), report, reportSha256, decisions, signingKey },
 *       "files": { "<output>.csv": "<the CSV text, exactly the bytes hashed>" },
 *       "signature": { "alg": "Ed25519", "keyId": "…", "value": "<base64>" } }
 *
 * The signature covers `enclave-airlock-bundle/v1\n` followed by the RFC 8785 JSON of the
 * manifest; the manifest names every file with its SHA-256, so the files are covered too.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, type JsonValue } from '../audit/index.ts';
import type { CellValue, DisclosureReport } from './rules/index.ts';

export const BUNDLE_FORMAT = 'enclave-airlock-bundle/1';
const SIGNATURE_DOMAIN = 'enclave-airlock-bundle/v1\n';

export const sha256Hex = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

/** A cell as a CSV field: quoted when needed; a text starting like a formula is defused with a leading `'` (CSV injection). */
function csvField(v: CellValue): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The released file of an output: a header of column names, one line per row, `\n` line ends. */
export function outputCsv(columns: readonly string[], rows: readonly (readonly CellValue[])[]): string {
  return [columns.map(csvField).join(','), ...rows.map((r) => r.map(csvField).join(','))].map((l) => `${l}\n`).join('');
}

/** A checker's vote as the bundle carries it. */
export interface BundleDecision {
  readonly checkerId: string;
  readonly outputName: string;
  readonly outputVersion: number;
  readonly decision: 'approve' | 'return' | 'reject';
  readonly reasons: readonly string[];
  readonly comment: string;
  readonly at: string;
}

export interface BundleOutput {
  readonly outputId: string;
  readonly name: string;
  readonly version: number;
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly rows: number;
  readonly kind: string;
  readonly columns: readonly { readonly name: string; readonly type: string; readonly role: string; readonly description: string }[];
  readonly description: string;
  readonly underlyingCounts: string;
  readonly lineage: {
    readonly sourceTable: string;
    readonly querySha256: string | null;
    readonly extractGeneration: number | null;
    readonly permitVersion: number | null;
    readonly datasetVersions: readonly string[];
    readonly population: string;
  };
}

export interface BundleManifest {
  readonly releaseId: string;
  readonly requestId: string;
  readonly requestVersion: number;
  readonly projectId: string;
  readonly title: string;
  readonly description: string;
  readonly population: string;
  readonly requestedBy: string;
  readonly submittedAt: string;
  readonly releasedAt: string;
  readonly checkersRequired: number;
  readonly outputs: readonly BundleOutput[];
  readonly report: DisclosureReport;
  readonly reportSha256: string;
  readonly decisions: readonly BundleDecision[];
  readonly signingKey: { readonly keyId: string; readonly publicKey: string };
}

export interface Bundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly manifest: BundleManifest;
  readonly files: Readonly<Record<string, string>>;
  readonly signature: { readonly alg: 'Ed25519'; readonly keyId: string; readonly value: string };
}

/** SHA-256 of a report (RFC 8785 JSON): what the request records and the bundle carries. */
export function reportSha256(report: DisclosureReport): string {
  return sha256Hex(canonicalJson(report as unknown as JsonValue));
}

const signedBytes = (m: BundleManifest): Buffer => Buffer.from(SIGNATURE_DOMAIN + canonicalJson(m as unknown as JsonValue), 'utf8');

/** Signs a manifest and its files into the bundle's JSON text (what is stored and downloaded). */
export function buildBundle(manifest: BundleManifest, files: Readonly<Record<string, string>>, key: KeyObject): string {
  const bundle: Bundle = {
    format: BUNDLE_FORMAT, manifest, files,
    signature: { alg: 'Ed25519', keyId: manifest.signingKey.keyId, value: sign(null, signedBytes(manifest), key).toString('base64') },
  };
  return `${JSON.stringify(bundle, null, 1)}\n`;
}

/** A public key as published (`ed25519:<base64>`), or a PEM SPKI. */
export function parseReleasePublicKey(text: string): KeyObject {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) return createPublicKey(t);
  const m = /^ed25519:([A-Za-z0-9+/]{43}=)$/.exec(t);
  if (m?.[1] === undefined) throw new Error('the public key must be "ed25519:<base64 of 32 bytes>" (GET /api/v1/airlock/signing-key) or a PEM public key');
  const raw = Buffer.from(m[1], 'base64');
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

export interface VerifyCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly message: string;
}

export interface BundleVerification {
  readonly ok: boolean;
  readonly checks: readonly VerifyCheck[];
  readonly manifest: BundleManifest | null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a bundle offline: its format, the signature (with `publicKey` when given, else the key
 * the bundle names, which proves integrity but not origin), every file's SHA-256, the report's
 * SHA-256 and that it blocks nothing released, and four eyes: each output approved in the
 * released version by enough distinct checkers, none the requester, none refusing.
 */
export function verifyBundle(text: string, publicKey?: string): BundleVerification {
  const checks: VerifyCheck[] = [];
  const add = (check: string, ok: boolean, message: string): boolean => {
    checks.push({ check, ok, message });
    return ok;
  };
  let b: unknown;
  try {
    b = JSON.parse(text);
  } catch (e) {
    add('format', false, `the bundle is not JSON: ${e instanceof Error ? e.message : 'parse error'}`);
    return { ok: false, checks, manifest: null };
  }
  if (!isObj(b) || b['format'] !== BUNDLE_FORMAT || !isObj(b['manifest']) || !isObj(b['files']) || !isObj(b['signature'])) {
    add('format', false, `not an ${BUNDLE_FORMAT} file (expected the fields format, manifest, files, signature)`);
    return { ok: false, checks, manifest: null };
  }
  const m = b['manifest'] as unknown as BundleManifest;
  const files = b['files'];
  const sig = b['signature'];
  // not Array.isArray: it would narrow the typed manifest's lists to any[]
  const isList = (v: unknown): boolean => Array.isArray(v);
  if (!isList(m.outputs) || !isList(m.decisions) || !isObj(m.report) || !isObj(m.signingKey)) {
    add('format', false, 'the manifest lacks outputs, decisions, report or signingKey');
    return { ok: false, checks, manifest: null };
  }
  add('format', true, `${BUNDLE_FORMAT}: release ${String(m.releaseId)} of request ${String(m.requestId)} (project ${String(m.projectId)}), ${m.outputs.length} output(s)`);

  // Signature
  let key: KeyObject | null = null;
  let keyNote = '';
  try {
    key = parseReleasePublicKey(publicKey ?? String(m.signingKey.publicKey));
    keyNote = publicKey === undefined ? ' with the key the bundle names (integrity only: pass --public-key with the platform\'s published key to check who signed it)' : ' with the given public key';
  } catch (e) {
    add('signature', false, `${publicKey === undefined ? 'the bundle\'s signing key' : 'the given public key'} is unusable: ${e instanceof Error ? e.message : 'bad key'}`);
  }
  if (key !== null) {
    const value = typeof sig['value'] === 'string' ? Buffer.from(sig['value'], 'base64') : Buffer.alloc(0);
    const good = sig['alg'] === 'Ed25519' && value.length === 64 && verify(null, signedBytes(m), key, value);
    add('signature', good, good ? `Ed25519 signature valid${keyNote}` : `the Ed25519 signature does not match the manifest${keyNote}: the bundle was changed after signing, or signed by another key`);
  }

  // Files
  const named = new Set<string>();
  for (const o of m.outputs) {
    named.add(o.file);
    const f = files[o.file];
    if (typeof f !== 'string') {
      add(`file ${o.file}`, false, `output ${o.name}: file ${o.file} is missing from the bundle`);
      continue;
    }
    const h = sha256Hex(f);
    add(`file ${o.file}`, h === o.sha256, h === o.sha256 ? `SHA-256 ${h} as signed (${o.rows} rows)` : `SHA-256 is ${h}, the manifest says ${o.sha256}: the file was changed`);
  }
  for (const name of Object.keys(files)) if (!named.has(name)) add(`file ${name}`, false, `file ${name} is not named in the signed manifest`);

  // Report
  const rh = reportSha256(m.report);
  add('report', rh === m.reportSha256, rh === m.reportSha256 ? `disclosure report SHA-256 ${rh} as recorded at submission` : `the report's SHA-256 is ${rh}, the manifest says ${m.reportSha256}`);
  for (const o of m.outputs) {
    const r = m.report.outputs.find((x) => x.name === o.name);
    if (r === undefined) add(`report ${o.name}`, false, `output ${o.name} has no disclosure report`);
    else add(`report ${o.name}`, r.status !== 'blocked', r.status === 'blocked' ? `output ${o.name} is released although its report blocks it (${r.flags.filter((f) => f.severity === 'block').map((f) => f.rule).join(', ')})` : `report ${r.status} (${r.cellsChecked} cells checked, ${r.flags.length} flag(s) reviewed)`);
  }

  // Four eyes
  const required = Math.max(2, Number(m.checkersRequired) || 2);
  for (const o of m.outputs) {
    const votes = m.decisions.filter((d) => d.outputName === o.name && d.outputVersion === o.version);
    const approvers = new Set(votes.filter((d) => d.decision === 'approve').map((d) => d.checkerId));
    const problems: string[] = [];
    if (approvers.has(m.requestedBy)) problems.push('the requester approved their own output');
    if (votes.some((d) => d.decision !== 'approve')) problems.push('a checker did not approve the released version');
    if (approvers.size < required) problems.push(`${approvers.size} distinct approving checker(s), ${required} required`);
    add(`four eyes ${o.name}`, problems.length === 0, problems.length === 0 ? `approved by ${approvers.size} distinct checkers, none the requester` : problems.join('; '));
  }
  return { ok: checks.every((c) => c.ok), checks, manifest: m };
}
