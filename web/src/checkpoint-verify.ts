/**
 * Checks a C2SP signed checkpoint in the browser with WebCrypto's Ed25519: the log's signature
 * (C2SP signed-note: Ed25519 over the note text, key hash SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[:4])
 * and each witness's cosignature (C2SP tlog-cosignature, cosignature/v1: Ed25519 over
 * "cosignature/v1\ntime <t>\n" ‖ the text, key id SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4]). The
 * same rules as src/audit/note.ts and witness.ts, written again here so that the check does not
 * run the server's code.
 */
import { fromBase64 } from './audit-verify.ts';

const SIG_PREFIX = '\u2014 ';
const ALG_ED25519 = 0x01;
const ALG_COSIGNATURE_V1 = 0x04;

/** A parsed verifier key (`name+hash+base64(alg ‖ key)`), or why it does not parse. */
interface Vkey {
  readonly name: string;
  readonly hash: Uint8Array;
  readonly alg: number;
  readonly key: Uint8Array;
}

function parseVkey(v: string): Vkey | null {
  const [name, hash, ...rest] = v.split('+');
  if (name === undefined || name === '' || hash === undefined || !/^[0-9a-f]{8}$/.test(hash)) return null;
  let raw: Uint8Array;
  try {
    raw = fromBase64(rest.join('+'));
  } catch {
    return null;
  }
  if (raw.length !== 33) return null;
  return { name, hash: Uint8Array.from(hash.match(/../g) ?? [], (h) => Number.parseInt(h, 16)), alg: raw[0] ?? 0, key: raw.subarray(1) };
}

const enc = new TextEncoder();

async function keyHashOf(v: Vkey): Promise<Uint8Array> {
  const name = enc.encode(`${v.name}\n`);
  const all = new Uint8Array(name.length + 1 + v.key.length);
  all.set(name);
  all[name.length] = v.alg;
  all.set(v.key, name.length + 1);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all)).subarray(0, 4);
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether this browser's WebCrypto verifies Ed25519 (Chromium does since version 137). */
export async function ed25519Available(): Promise<boolean> {
  try {
    await crypto.subtle.importKey('raw', new Uint8Array(32).fill(1), { name: 'Ed25519' }, false, ['verify']);
    return true;
  } catch {
    return false;
  }
}

async function ed25519Verify(key: Uint8Array, sig: Uint8Array, msg: Uint8Array): Promise<boolean> {
  const k = await crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, k, sig as Uint8Array<ArrayBuffer>, msg as Uint8Array<ArrayBuffer>);
}

export type SignatureStatus = 'valid' | 'invalid' | 'missing' | 'bad_key';

export interface CheckpointVerdict {
  /** False when this browser cannot verify Ed25519: nothing below was checked. */
  readonly supported: boolean;
  readonly log: { readonly name: string; readonly status: SignatureStatus };
  readonly witnesses: ReadonlyArray<{ readonly name: string; readonly status: SignatureStatus; readonly time: number | null }>;
  /** Both the log's signature and every configured witness's cosignature hold. */
  readonly ok: boolean;
}

/**
 * Verifies `note` against the log's verifier key and the witnesses' cosigner keys.
 *
 * @example
 *   const v = await verifyCheckpoint(note, keys.log, keys.witnesses);
 *   if (!v.ok) warn(v.log.status);
 */
export async function verifyCheckpoint(note: string, logKey: string, witnessKeys: readonly string[]): Promise<CheckpointVerdict> {
  const supported = await ed25519Available();
  const cut = note.lastIndexOf('\n\n');
  const text = cut < 0 ? '' : note.slice(0, cut + 1);
  const lines = cut < 0 ? [] : note.slice(cut + 2).split('\n').filter((l) => l !== '');
  // signature lines: "— name base64(key hash ‖ signature)"
  const sigs = lines.flatMap((l) => {
    if (!l.startsWith(SIG_PREFIX)) return [];
    const [name, b64] = l.slice(SIG_PREFIX.length).split(' ');
    if (name === undefined || b64 === undefined) return [];
    try {
      return [{ name, raw: fromBase64(b64) }];
    } catch {
      return [];
    }
  });
  const textBytes = enc.encode(text);
  const check = async (vkey: string, alg: number): Promise<{ name: string; status: SignatureStatus; time: number | null }> => {
    const v = parseVkey(vkey);
    if (v === null || v.alg !== alg || !same(await keyHashOf(v), v.hash)) return { name: v?.name ?? vkey.split('+')[0] ?? '', status: 'bad_key', time: null };
    const mine = sigs.filter((s) => s.name === v.name && same(s.raw.subarray(0, 4), v.hash));
    if (mine.length === 0) return { name: v.name, status: 'missing', time: null };
    if (!supported) return { name: v.name, status: 'missing', time: null };
    for (const s of mine) {
      if (alg === ALG_ED25519) {
        if (s.raw.length === 68 && (await ed25519Verify(v.key, s.raw.subarray(4), textBytes))) return { name: v.name, status: 'valid', time: null };
      } else if (s.raw.length === 76) {
        const time = new DataView(s.raw.buffer, s.raw.byteOffset + 4, 8).getBigUint64(0);
        const msg = enc.encode(`cosignature/v1\ntime ${time}\n${text}`);
        if (await ed25519Verify(v.key, s.raw.subarray(12), msg)) return { name: v.name, status: 'valid', time: Number(time) };
      }
    }
    return { name: v.name, status: 'invalid', time: null };
  };
  const log = await check(logKey, ALG_ED25519);
  const witnesses = await Promise.all(witnessKeys.map((k) => check(k, ALG_COSIGNATURE_V1)));
  return { supported, log: { name: log.name, status: log.status }, witnesses, ok: supported && log.status === 'valid' && witnesses.every((w) => w.status === 'valid') };
}
