/**
 * C2SP signed-note (https://c2sp.org/signed-note) and tlog-checkpoint
 * (https://c2sp.org/tlog-checkpoint) with Ed25519 keys, as golang.org/x/mod/sumdb/note does:
 * same key names, key hashes, verifier-key text (`name+hash+base64`) and parsing rules, so a
 * checkpoint Enclave signs opens with any conforming implementation and the other way round.
 * Parsing is strict: anything not in the grammar is refused, never repaired.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

const ALG_ED25519 = 0x01;
const SIG_PREFIX = '— '; // U+2014 EM DASH, space
const MAX_SIGNATURES = 100;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A note or key that does not parse, or a signature that does not verify. */
export class NoteError extends Error {
  override readonly name = 'NoteError';
  readonly kind: 'malformed' | 'bad_key' | 'invalid_signature' | 'unverified';
  constructor(kind: NoteError['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Something that can check signatures of one key: an Ed25519 log key, or another log's key. */
export interface NoteVerifier {
  readonly name: string;
  /** The 32-bit key hash carried in front of every signature. */
  readonly keyHash: number;
  verify(message: Buffer, signature: Buffer): boolean;
}

/** The log's signing key, as the key service hands it over. */
export interface LogSigner {
  /** Key name, conventionally the log origin, e.g. `enclave.example/audit`. */
  readonly name: string;
  /** An Ed25519 private key. */
  readonly privateKey: KeyObject;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A key name: non-empty UTF-8 with no Unicode white space and no '+'. */
export function isValidKeyName(name: string): boolean {
  return name !== '' && !/\p{White_Space}/u.test(name) && !name.includes('+') && !/\p{Surrogate}/u.test(name);
}

/** Decodes standard padded base64, refusing every non-canonical spelling. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? b : undefined;
}

function keyHash(name: string, key: Buffer): number {
  const h = createHash('sha256').update(name, 'utf8').update('\n').update(key).digest();
  return h.readUInt32BE(0);
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

function rawPublicKey(privateOrPublic: KeyObject): Buffer {
  const jwk = (privateOrPublic.type === 'private' ? createPublicKey(privateOrPublic) : privateOrPublic).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || jwk.x === undefined) throw new NoteError('bad_key', 'the log key must be an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

/**
 * The public verifier key of a signer in C2SP text form, `name+hash+base64(0x01‖pub)`, to
 * publish beside the checkpoints.
 *
 * @example
 *   verifierKey(generateLogKey('enclave.example/audit')) // 'enclave.example/audit+1a2b3c4d+AQ…'
 */
export function verifierKey(signer: LogSigner): string {
  const key = Buffer.concat([Buffer.from([ALG_ED25519]), rawPublicKey(signer.privateKey)]);
  return `${signer.name}+${hex8(keyHash(signer.name, key))}+${key.toString('base64')}`;
}

/** A fresh Ed25519 log key (tests, and the embedded default before a key service exists). */
export function generateLogKey(name = 'enclave.test/audit'): LogSigner {
  if (!isValidKeyName(name)) throw new NoteError('bad_key', `invalid key name ${JSON.stringify(name)}`);
  return { name, privateKey: generateKeyPairSync('ed25519').privateKey };
}

/** The C2SP/Go private key text `PRIVATE+KEY+name+hash+base64(0x01‖seed)` of a signer. */
export function signerKeyText(signer: LogSigner): string {
  const jwk = signer.privateKey.export({ format: 'jwk' });
  if (jwk.d === undefined) throw new NoteError('bad_key', 'not an Ed25519 private key');
  const pub = Buffer.concat([Buffer.from([ALG_ED25519]), rawPublicKey(signer.privateKey)]);
  const priv = Buffer.concat([Buffer.from([ALG_ED25519]), Buffer.from(jwk.d, 'base64url')]);
  return `PRIVATE+KEY+${signer.name}+${hex8(keyHash(signer.name, pub))}+${priv.toString('base64')}`;
}

/** Parses a `PRIVATE+KEY+name+hash+base64` signer key (Go note.NewSigner). */
export function parseSignerKey(text: string): LogSigner {
  // The base64 key may itself contain '+': only the first four '+' separate fields.
  const parts = text.split('+');
  const [p, k, name, hash16] = parts;
  const b64 = parts.length >= 5 ? parts.slice(4).join('+') : undefined;
  const raw = b64 === undefined ? undefined : decodeBase64Strict(b64);
  if (p !== 'PRIVATE' || k !== 'KEY' || name === undefined || !isValidKeyName(name) || hash16 === undefined || !/^[0-9a-fA-F]{8}$/.test(hash16) || raw === undefined || raw.length !== 33 || raw[0] !== ALG_ED25519) {
    throw new NoteError('bad_key', 'malformed signer key');
  }
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, raw.subarray(1)]), format: 'der', type: 'pkcs8' });
  const pub = Buffer.concat([Buffer.from([ALG_ED25519]), rawPublicKey(privateKey)]);
  if (keyHash(name, pub) !== Number.parseInt(hash16, 16)) throw new NoteError('bad_key', 'signer key hash does not match');
  return { name, privateKey };
}

/**
 * Parses a verifier key `name+hash+base64(0x01‖pub)` strictly (Go note.NewVerifier): the hash
 * must be that of the name and key, the key exactly 32 bytes of Ed25519.
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const plus1 = vkey.indexOf('+');
  const name = plus1 < 0 ? vkey : vkey.slice(0, plus1);
  const rest = plus1 < 0 ? '' : vkey.slice(plus1 + 1);
  const plus2 = rest.indexOf('+');
  const hash16 = plus2 < 0 ? rest : rest.slice(0, plus2);
  const key64 = plus2 < 0 ? '' : rest.slice(plus2 + 1);
  const key = decodeBase64Strict(key64);
  if (!/^[0-9a-fA-F]{8}$/.test(hash16) || key === undefined || key.length === 0 || !isValidKeyName(name)) throw new NoteError('bad_key', 'malformed verifier key');
  const hash = Number.parseInt(hash16, 16);
  if (keyHash(name, key) !== hash) throw new NoteError('bad_key', 'verifier key hash does not match its name and key');
  if (key[0] !== ALG_ED25519 || key.length !== 33) throw new NoteError('bad_key', 'verifier key is not a 32-byte Ed25519 key');
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, key.subarray(1)]), format: 'der', type: 'spki' });
  return { name, keyHash: hash, verify: (message, signature) => signature.length === 64 && verify(null, message, publicKey, signature) };
}

/**
 * A verifier for an ECDSA P-256 note key as Rekor and other Sigstore logs use: key hash =
 * SHA-256(DER SubjectPublicKeyInfo)[:4], signature = ASN.1 DER ECDSA over the note text.
 */
export function ecdsaNoteVerifier(name: string, spkiDer: Uint8Array): NoteVerifier {
  const publicKey = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  const hash = createHash('sha256').update(spkiDer).digest().readUInt32BE(0);
  return { name, keyHash: hash, verify: (message, signature) => verify('sha256', message, publicKey, signature) };
}

/**
 * Signs a note text (which must end with a newline) with one or more signers.
 *
 * @example
 *   signNote('hello\n', [signer]) // 'hello\n\n— enclave.test/audit AbC…=\n'
 */
export function signNote(text: string, signers: readonly LogSigner[]): string {
  if (!text.endsWith('\n')) throw new NoteError('malformed', 'note text must end with a newline');
  checkNoteChars(Buffer.from(text, 'utf8'));
  const msg = Buffer.from(text, 'utf8');
  let out = text + '\n';
  for (const s of signers) {
    const pub = Buffer.concat([Buffer.from([ALG_ED25519]), rawPublicKey(s.privateKey)]);
    const sig = sign(null, msg, s.privateKey);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(keyHash(s.name, pub));
    out += `${SIG_PREFIX}${s.name} ${Buffer.concat([head, sig]).toString('base64')}\n`;
  }
  return out;
}

function checkNoteChars(bytes: Buffer): string {
  let s: string;
  try {
    s = utf8.decode(bytes);
  } catch {
    throw new NoteError('malformed', 'note is not valid UTF-8');
  }
  // Go: no ASCII control character other than newline.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(s)) throw new NoteError('malformed', 'note holds a control character');
  return s;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyHash: number;
  readonly base64: string;
}

export interface OpenedNote {
  /** The signed text, ending with a newline. */
  readonly text: string;
  readonly sigs: readonly NoteSignature[];
  readonly unverifiedSigs: readonly NoteSignature[];
}

/**
 * Opens a signed note: parses it strictly, verifies every signature by a known key, and fails
 * when a known key's signature is invalid (never leaves it silently unverified) or when no
 * known key signed it. Signatures by unknown keys are returned as unverified.
 */
export function openNote(msg: string | Uint8Array, known: readonly NoteVerifier[]): OpenedNote {
  const bytes = typeof msg === 'string' ? Buffer.from(msg, 'utf8') : Buffer.from(msg);
  const s = checkNoteChars(bytes);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed', 'note has no signature block');
  const text = s.slice(0, split + 1);
  let sigs = s.slice(split + 2);
  if (sigs === '' || !sigs.endsWith('\n')) throw new NoteError('malformed', 'signature block must end with a newline');
  const textBytes = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  const seenUnverified = new Set<string>();
  let count = 0;
  while (sigs.length > 0) {
    const nl = sigs.indexOf('\n');
    let line = sigs.slice(0, nl);
    sigs = sigs.slice(nl + 1);
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('malformed', 'signature line does not start with an em dash');
    line = line.slice(SIG_PREFIX.length);
    const sp = line.indexOf(' ');
    const name = sp < 0 ? line : line.slice(0, sp);
    const b64 = sp < 0 ? '' : line.slice(sp + 1);
    const sig = decodeBase64Strict(b64);
    if (sig === undefined || !isValidKeyName(name) || b64 === '' || sig.length < 5) throw new NoteError('malformed', 'malformed signature line');
    if (++count > MAX_SIGNATURES) throw new NoteError('malformed', 'too many signatures');
    const hash = sig.readUInt32BE(0);
    const v = known.find((k) => k.name === name && k.keyHash === hash);
    const entry = { name, keyHash: hash, base64: b64 };
    if (v === undefined) {
      if (!seenUnverified.has(line)) unverified.push(entry);
      seenUnverified.add(line);
      continue;
    }
    const id = `${name}+${hex8(hash)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (!v.verify(textBytes, sig.subarray(4))) throw new NoteError('invalid_signature', `invalid signature for key ${id}`);
    verified.push(entry);
  }
  if (verified.length === 0) throw new NoteError('unverified', 'note has no verified signatures');
  return { text, sigs: verified, unverifiedSigs: unverified };
}

/** The body of a C2SP tlog-checkpoint. */
export interface Checkpoint {
  readonly origin: string;
  readonly treeSize: bigint;
  readonly rootHash: Buffer;
  readonly extensions: readonly string[];
}

/** Formats a checkpoint body: origin, decimal size, base64 root, optional extension lines. */
export function formatCheckpoint(c: { readonly origin: string; readonly treeSize: bigint | number; readonly rootHash: Uint8Array; readonly extensions?: readonly string[] }): string {
  if (c.origin === '' || c.origin.includes('\n')) throw new NoteError('malformed', 'checkpoint origin must be one non-empty line');
  if (c.rootHash.length !== 32) throw new NoteError('malformed', 'root hash must be 32 bytes');
  const ext = (c.extensions ?? []).map((e) => {
    if (e === '' || e.includes('\n')) throw new NoteError('malformed', 'extension lines must be non-empty single lines');
    return `${e}\n`;
  });
  return `${c.origin}\n${BigInt(c.treeSize).toString()}\n${Buffer.from(c.rootHash).toString('base64')}\n${ext.join('')}`;
}

/** Parses a checkpoint body strictly (no leading zeros, canonical base64, 32-byte root). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new NoteError('malformed', 'checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, size, root, ...extensions] = lines;
  if (origin === undefined || origin === '' || size === undefined || root === undefined) throw new NoteError('malformed', 'checkpoint needs origin, size and root lines');
  if (!/^(0|[1-9][0-9]{0,19})$/.test(size) || BigInt(size) >= 1n << 64n) throw new NoteError('malformed', 'checkpoint size is not a canonical 64-bit decimal');
  const rootHash = decodeBase64Strict(root);
  if (rootHash === undefined || rootHash.length !== 32) throw new NoteError('malformed', 'checkpoint root is not a base64 SHA-256 hash');
  if (extensions.some((e) => e === '')) throw new NoteError('malformed', 'checkpoint extension lines must not be empty');
  return { origin, treeSize: BigInt(size), rootHash, extensions };
}

/**
 * Opens a signed checkpoint: verifies the note with `known` keys and parses its body; when
 * `origin` is given the checkpoint must carry exactly that origin.
 */
export function openCheckpoint(note: string, known: readonly NoteVerifier[], origin?: string): Checkpoint & { readonly note: string } {
  const opened = openNote(note, known);
  const c = parseCheckpoint(opened.text);
  if (origin !== undefined && c.origin !== origin) throw new NoteError('malformed', `checkpoint origin ${JSON.stringify(c.origin)} is not ${JSON.stringify(origin)}`);
  return { ...c, note };
}
