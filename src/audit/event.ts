/**
 * The audit event as it is hashed: its fields, its RFC 8785 leaf encoding and the per-leaf
 * signature message. Pure: no database here, so an offline verifier needs only this file,
 * merkle.ts and note.ts.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import { canonicalJson, type JsonValue } from './canonical-json.ts';
import { hashLeaf } from './merkle.ts';

export type { JsonValue } from './canonical-json.ts';

export type Actor = { readonly kind: 'person' | 'service'; readonly id: string };
export type Outcome = 'success' | 'failure' | 'denied';

/**
 * One event of the log, exactly the object an export line carries as `event`: the Merkle leaf
 * is SHA-256(0x00 ‖ RFC 8785 JSON of this object), nothing added or left out, so a verifier
 * that knows only RFC 9162 and RFC 8785 recomputes it from the export.
 */
export interface AuditEvent {
  /** Leaf index, from 0. */
  readonly seq: number;
  /** UTC, millisecond precision, `YYYY-MM-DDTHH:mm:ss.sssZ`. */
  readonly time: string;
  readonly actor: Actor;
  readonly action: string;
  readonly target: string;
  readonly requestId: string | null;
  readonly outcome: Outcome;
  readonly details: Readonly<Record<string, JsonValue>>;
  /**
   * Present (always 1) only on events written before migration 0014, whose leaf hashed this
   * field: the export carries it so that their leaf is still JCS(event) exactly.
   */
  readonly v?: 1;
}

/** The leaf bytes: RFC 8785 JSON of the event object as exported. */
export function encodeLeaf(e: AuditEvent): Buffer {
  const obj: Record<string, JsonValue> = {
    seq: e.seq,
    time: e.time,
    actor: { kind: e.actor.kind, id: e.actor.id },
    action: e.action,
    target: e.target,
    requestId: e.requestId,
    outcome: e.outcome,
    details: e.details,
  };
  if (e.v !== undefined) obj['v'] = e.v;
  return Buffer.from(canonicalJson(obj), 'utf8');
}

/** RFC 9162 leaf hash of an event. */
export function eventLeafHash(e: AuditEvent): Buffer {
  return hashLeaf(encodeLeaf(e));
}

/** What the per-leaf signature covers: a domain tag, the log origin, the index and the leaf hash. */
export function leafSignatureMessage(origin: string, seq: number, leafHash: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`enclave-audit-leaf/v1\n${origin}\n${seq}\n`, 'utf8'), leafHash]);
}

/** Signs a leaf with the log key (Ed25519). */
export function signLeaf(key: KeyObject, origin: string, seq: number, leafHash: Uint8Array): Buffer {
  return sign(null, leafSignatureMessage(origin, seq, leafHash), key);
}

/** Checks a leaf signature with the log's public key. */
export function verifyLeafSignature(publicKey: KeyObject, origin: string, seq: number, leafHash: Uint8Array, sig: Uint8Array): boolean {
  return sig.length === 64 && verify(null, leafSignatureMessage(origin, seq, leafHash), publicKey, sig);
}

/**
 * Detail keys that announce a row value or a personal identifier. Details describe the act
 * (counts, durations, hashes, codes, the created object's kind), never the data: this list
 * catches the obvious mistakes cheaply; review catches the rest.
 */
const FORBIDDEN_DETAIL_KEY = /^(values?|row_?values?|row_?data|nir|.*_nir|nir_.*|ben_nir.*|nir_ano.*|num_enq|ssn|first_?name|last_?name|birth_?date|date_of_birth|address|email|phone|password|secret|token)$/i;
export const MAX_DETAILS_BYTES = 16_384;
const MAX_TEXT = 1_000;

function checkDetailValue(v: JsonValue, path: string, depth: number): void {
  if (depth > 8) throw new AppError('invalid', `audit details nest too deeply at ${path}`);
  if (typeof v === 'string') {
    // jsonb cannot store U+0000, and a log line must never carry one.
    if (v.includes('\u0000')) throw new AppError('invalid', `audit details: ${path} holds a NUL character`);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    (v as readonly JsonValue[]).forEach((x, i) => checkDetailValue(x, `${path}[${i}]`, depth + 1));
    return;
  }
  for (const [k, x] of Object.entries(v as Record<string, JsonValue>)) {
    if (FORBIDDEN_DETAIL_KEY.test(k)) {
      throw new AppError('invalid', `audit details must not hold row values or identifiers (key ${JSON.stringify(k)} at ${path})`, {
        hint: 'record counts, durations, hashes or codes instead of the data itself',
      });
    }
    if (k.includes('\u0000')) throw new AppError('invalid', 'audit details: key holds a NUL character');
    checkDetailValue(x, `${path}.${k}`, depth + 1);
  }
}

/** Validates the free-text fields and the details of an event before it is written. */
export function validateDraftFields(f: { readonly actor: Actor; readonly action: string; readonly target: string; readonly requestId?: string | undefined; readonly details: Readonly<Record<string, JsonValue>> }): void {
  if (f.actor.kind !== 'person' && f.actor.kind !== 'service') throw new AppError('invalid', 'audit actor kind must be person or service');
  for (const [name, value] of [['actor id', f.actor.id], ['action', f.action], ['target', f.target], ['request id', f.requestId ?? 'x']] as const) {
    // Control characters and Unicode line separators would let a value forge a second line in
    // a text log or export.
    if (typeof value !== 'string' || value === '' || value.length > MAX_TEXT || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value)) {
      throw new AppError('invalid', `audit ${name} must be 1–${MAX_TEXT} printable characters`);
    }
  }
  checkDetailValue(f.details, 'details', 0);
  if (Buffer.byteLength(canonicalJson(f.details), 'utf8') > MAX_DETAILS_BYTES) throw new AppError('invalid', `audit details exceed ${MAX_DETAILS_BYTES} bytes`);
}
