/**
 * Checks in the browser that an audit event is in the log's signed tree, with nothing but the
 * event, an RFC 9162 inclusion proof and the checkpoint: the leaf is SHA-256(0x00 ‖ RFC 8785
 * JSON of the event), folded with the proof's hashes (SHA-256(0x01 ‖ left ‖ right)) up to a
 * root that must equal the checkpoint's. The same algorithm as src/audit/merkle.ts, written
 * again here so the check does not trust the server's code: only WebCrypto's SHA-256.
 */

type Json = string | number | boolean | null | readonly Json[] | { readonly [k: string]: Json };

/** RFC 8785: keys sorted by UTF-16 code units, ECMAScript number and string forms. */
export function canonicalJson(v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('canonical JSON: numbers must be finite');
    return JSON.stringify(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${(v as readonly Json[]).map(canonicalJson).join(',')}]`;
  const o = v as { readonly [k: string]: Json };
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k] ?? null)}`).join(',')}}`;
}

async function sha256(...parts: readonly Uint8Array[]): Promise<Uint8Array> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

export function toBase64(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

/** The event's leaf hash, as the log computed it when it appended the event. */
export async function leafHashOf(event: Json): Promise<Uint8Array> {
  return sha256(LEAF, new TextEncoder().encode(canonicalJson(event)));
}

const bitLength = (n: bigint): number => (n === 0n ? 0 : n.toString(2).length);
const onesCount = (n: bigint): number => [...n.toString(2)].filter((c) => c === '1').length;

/** RFC 9162 §2.1.3.2: the root implied by an inclusion proof. */
export async function rootFromInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Promise<Uint8Array> {
  const i = BigInt(index);
  const n = BigInt(size);
  if (i >= n) throw new Error(`index ${index} is beyond the tree size ${size}`);
  const inner = bitLength(i ^ (n - 1n));
  const border = onesCount(i >> BigInt(inner));
  if (proof.length !== inner + border) throw new Error(`wrong proof size ${proof.length}, want ${inner + border}`);
  let h = leaf;
  for (let k = 0; k < inner; k++) {
    const p = proof[k] ?? new Uint8Array();
    h = ((i >> BigInt(k)) & 1n) === 0n ? await sha256(NODE, h, p) : await sha256(NODE, p, h);
  }
  for (const p of proof.slice(inner)) h = await sha256(NODE, p, h);
  return h;
}

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The outcome of a check: included (under which checkpoint), or why not. */
export type InclusionCheck =
  | { readonly ok: true; readonly treeSize: number; readonly root: string }
  | { readonly ok: false; readonly reason: 'leaf' | 'root' | 'malformed'; readonly detail: string };

export async function checkInclusion(event: Json, index: number, proof: { readonly treeSize: number; readonly leafHash: string; readonly hashes: readonly string[] }, checkpointRoot: string): Promise<InclusionCheck> {
  try {
    const leaf = await leafHashOf(event);
    if (!sameBytes(leaf, fromBase64(proof.leafHash))) return { ok: false, reason: 'leaf', detail: 'the event does not hash to the leaf the log holds' };
    const root = await rootFromInclusion(index, proof.treeSize, leaf, proof.hashes.map(fromBase64));
    if (!sameBytes(root, fromBase64(checkpointRoot))) return { ok: false, reason: 'root', detail: 'the proof does not lead to the checkpoint\'s root' };
    return { ok: true, treeSize: proof.treeSize, root: toBase64(root) };
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: e instanceof Error ? e.message : String(e) };
  }
}
