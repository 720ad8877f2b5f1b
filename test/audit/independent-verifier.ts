/**
 * An independent verifier of an Enclave audit export, written from the public specifications
 * alone and importing nothing of Enclave (only node:crypto): RFC 9162 §2.1 (Merkle tree hash),
 * RFC 8785 (JSON canonicalisation), C2SP signed-note and tlog-checkpoint (Ed25519 keys), and
 * C2SP tlog-cosignature for witness cosignatures.
 *
 *   node test/audit/independent-verifier.ts EXPORT.jsonl CHECKPOINT.txt LOG_VKEY [WITNESS_VKEY…]
 *
 * The export is JSON lines; each holds `index`, `leafHash` (base64) and `event`; the leaf of
 * line i is SHA-256(0x00 ‖ JCS(event)). Exit 0 and one line "OK size root" when the note is
 * signed by LOG_VKEY (and cosigned by every WITNESS_VKEY) and the first `size` leaves of the
 * export hash to its root; exit 1 with the reason otherwise.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** RFC 8785: keys sorted by UTF-16 code units; ECMAScript number and string forms. */
function jcs(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${jcs(o[k])}`).join(',')}}`;
  }
  throw new Error(`not JSON: ${typeof v}`);
}

/** RFC 9162 §2.1.1 MTH over leaf hashes [from, to). */
function mth(leaves: readonly Buffer[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 0) return sha256();
  if (n === 1) return leaves[from] as Buffer;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return sha256(Buffer.from([1]), mth(leaves, from, from + k), mth(leaves, from + k, to));
}

interface Vkey { name: string; hash: Buffer; alg: number; pub: Buffer }
function parseVkey(s: string): Vkey {
  // The name holds no '+'; the base64 key may.
  const [name, hash, ...key64] = s.split('+');
  const b64 = key64.join('+');
  if (name === undefined || hash === undefined || b64 === '') throw new Error('verifier key is not name+hash+key');
  const key = Buffer.from(b64, 'base64');
  const alg = key[0] ?? -1;
  if ((alg !== 0x01 && alg !== 0x04) || key.length !== 33) throw new Error('verifier key is not Ed25519 (0x01) or cosignature/v1 (0x04)');
  // C2SP signed-note: key ID = SHA-256(name ‖ "\n" ‖ alg ‖ public key)[:4].
  const id = sha256(Buffer.from(`${name}\n`), key).subarray(0, 4);
  if (id.toString('hex') !== hash) throw new Error(`verifier key hash of ${name} does not match`);
  return { name, hash: id, alg, pub: key.subarray(1) };
}
const ed25519 = (pub: Buffer) => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]), format: 'der', type: 'spki' });

/** Finds the signature of `k` in the note and checks it; returns the signed text. */
function checkNote(note: string, k: Vkey): string {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('note has no signature block');
  const text = note.slice(0, split + 1);
  for (const line of note.slice(split + 2).split('\n')) {
    if (line === '') continue;
    if (!line.startsWith('\u2014 ')) throw new Error('signature line does not start with an em dash');
    const [name, b64] = line.slice(2).split(' ');
    const sig = Buffer.from(b64 ?? '', 'base64');
    if (name !== k.name || !sig.subarray(0, 4).equals(k.hash)) continue;
    if (k.alg === 0x01) {
      if (sig.length === 68 && verify(null, Buffer.from(text, 'utf8'), ed25519(k.pub), sig.subarray(4))) return text;
      throw new Error(`bad signature by ${k.name}`);
    }
    // C2SP tlog-cosignature: key ID ‖ uint64 time ‖ Ed25519 over "cosignature/v1\ntime T\n" ‖ checkpoint body.
    if (sig.length !== 76) throw new Error(`cosignature of ${k.name} is not 76 bytes`);
    const time = sig.readBigUInt64BE(4);
    if (verify(null, Buffer.from(`cosignature/v1\ntime ${time}\n${text}`, 'utf8'), ed25519(k.pub), sig.subarray(12))) return text;
    throw new Error(`bad cosignature by ${k.name}`);
  }
  throw new Error(`no signature by ${k.name}`);
}

export function verifyExport(exportText: string, note: string, logVkey: string, witnessVkeys: readonly string[] = []): { size: number; root: string } {
  const logKey = parseVkey(logVkey);
  const text = checkNote(note, logKey);
  for (const w of witnessVkeys) if (checkNote(note, parseVkey(w)) !== text) throw new Error('cosigned text differs');
  const [origin, sizeLine, rootLine] = text.slice(0, -1).split('\n');
  if (origin !== logKey.name) throw new Error(`checkpoint origin ${origin} is not the key name ${logKey.name}`);
  const size = Number(sizeLine);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine ?? '') || !Number.isSafeInteger(size)) throw new Error('checkpoint size is not a decimal');
  const leaves: Buffer[] = [];
  for (const [i, raw] of exportText.split('\n').filter((l) => l !== '').entries()) {
    const line = JSON.parse(raw) as { index: number; leafHash: string; event: { seq: number } | null };
    if (line.index !== i) throw new Error(`line ${i + 1} has index ${line.index}`);
    const stored = Buffer.from(line.leafHash, 'base64');
    if (line.event !== null) {
      if (line.event.seq !== i) throw new Error(`event ${i} has seq ${line.event.seq}`);
      const leaf = sha256(Buffer.from([0]), Buffer.from(jcs(line.event), 'utf8'));
      if (!leaf.equals(stored)) throw new Error(`event ${i}: SHA-256(0x00 || JCS(event)) is not its leafHash`);
    }
    leaves.push(stored);
  }
  if (leaves.length < size) throw new Error(`the export holds ${leaves.length} events, the checkpoint ${size}`);
  const root = mth(leaves, 0, size).toString('base64');
  if (root !== rootLine) throw new Error(`root of the first ${size} leaves is ${root}, the checkpoint says ${rootLine}`);
  return { size, root };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const [exp, cp, vkey, ...witnesses] = process.argv.slice(2);
  try {
    if (exp === undefined || cp === undefined || vkey === undefined) throw new Error('usage: independent-verifier EXPORT CHECKPOINT LOG_VKEY [WITNESS_VKEY…]');
    const r = verifyExport(readFileSync(exp, 'utf8'), readFileSync(cp, 'utf8'), vkey, witnesses);
    process.stdout.write(`OK ${r.size} ${r.root}\n`);
  } catch (e) {
    process.stdout.write(`FAIL ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
