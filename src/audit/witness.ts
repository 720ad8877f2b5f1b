/**
 * A C2SP tlog-witness (https://c2sp.org/tlog-witness): an HTTP server with its own Ed25519 key
 * and its own state directory, which cosigns (C2SP tlog-cosignature, cosignature/v1) a log's
 * checkpoint only when it is signed by the log's key and provably consistent with the last one
 * it cosigned. It never holds the log key or the master key, and it is meant to run where the
 * log's database owner cannot rewrite its directory. Also the client the log uses to reach it.
 *
 * Protocol: POST <prefix>/add-checkpoint with body
 *   old <size>\n <base64 consistency proof hash>\n … \n \n <signed checkpoint note>
 * answers 200 with the cosignature line(s); 409 (text/x.tlog.size, "<size>\n") when `old` is
 * not the size it last cosigned; 422 when the proof does not hold; 403 when no known log key
 * signed the note; 404 for an unknown origin; 400 for a malformed request.
 * An extension, read-only: GET <prefix>/checkpoint?origin=O returns the last checkpoint it
 * cosigned for O, with its cosignature, for `enclave audit verify` to check the log against.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ProofError, verifyConsistency } from './merkle.ts';
import { decodeBase64Strict, isValidKeyName, NoteError, openCheckpoint, parseVerifierKey, type NoteVerifier } from './note.ts';

const ALG_COSIGNATURE_V1 = 0x04;
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const MAX_BODY = 64 * 1024;

function keyId(name: string, algAndKey: Buffer): Buffer {
  return createHash('sha256').update(name, 'utf8').update('\n').update(algAndKey).digest().subarray(0, 4);
}

function rawPublic(k: KeyObject): Buffer {
  const jwk = (k.type === 'private' ? createPublicKey(k) : k).export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** A witness key: its name and Ed25519 private key. */
export interface WitnessKey {
  readonly name: string;
  readonly privateKey: KeyObject;
}

/** The witness's public cosigner key, `name+hash+base64(0x04 ‖ pub)` (C2SP tlog-cosignature). */
export function cosignerVerifierKey(k: WitnessKey): string {
  const key = Buffer.concat([Buffer.from([ALG_COSIGNATURE_V1]), rawPublic(k.privateKey)]);
  return `${k.name}+${keyId(k.name, key).toString('hex')}+${key.toString('base64')}`;
}

/** The message a cosignature/v1 signs: a header line, the time, then the checkpoint body. */
export function cosignatureMessage(checkpointText: string, time: bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${time}\n${checkpointText}`, 'utf8');
}

/** The note signature line a witness adds: `— name base64(keyID ‖ uint64 time ‖ Ed25519 signature)`. */
export function cosign(k: WitnessKey, checkpointText: string, time: bigint = BigInt(Math.floor(Date.now() / 1000))): string {
  const key = Buffer.concat([Buffer.from([ALG_COSIGNATURE_V1]), rawPublic(k.privateKey)]);
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(time);
  const sig = sign(null, cosignatureMessage(checkpointText, time), k.privateKey);
  return `\u2014 ${k.name} ${Buffer.concat([keyId(k.name, key), t, sig]).toString('base64')}\n`;
}

/** A verifier of cosignature/v1 signatures by one witness key, for openNote. */
export function parseCosignerKey(vkey: string): NoteVerifier & { readonly vkey: string } {
  const [name, hash, ...rest] = vkey.split('+');
  const key = decodeBase64Strict(rest.join('+'));
  if (name === undefined || !isValidKeyName(name) || hash === undefined || !/^[0-9a-f]{8}$/.test(hash) || key === undefined || key.length !== 33 || key[0] !== ALG_COSIGNATURE_V1) {
    throw new NoteError('bad_key', 'malformed witness key: expected name+hash+base64(0x04 ‖ Ed25519 public key)');
  }
  if (keyId(name, key).toString('hex') !== hash) throw new NoteError('bad_key', 'witness key hash does not match its name and key');
  const pub = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, key.subarray(1)]), format: 'der', type: 'spki' });
  return {
    name,
    vkey,
    keyHash: Number.parseInt(hash, 16),
    verify: (message, signature) => {
      if (signature.length !== 72) return false;
      return verify(null, cosignatureMessage(message.toString('utf8'), signature.readBigUInt64BE(0)), pub, signature.subarray(8));
    },
  };
}

/** What a witness keeps per log: the last checkpoint it cosigned. */
interface LogState {
  readonly origin: string;
  readonly size: number;
  readonly root: string;
  /** The checkpoint note with the witness's cosignature appended. */
  readonly note: string;
}

export interface WitnessOptions {
  /** Its own directory: key (0600) and state; nobody else writes here. */
  readonly dir: string;
  /** The log verifier keys it accepts checkpoints from (C2SP vkey), one per origin. */
  readonly logKeys: readonly string[];
  /** Key name used when a key is generated on first start. */
  readonly name?: string;
}

async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.partial`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(join(path, '..'), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Loads the witness key from `dir/witness-key.json`, creating it (0600) on first start. */
export async function loadWitnessKey(dir: string, name = 'enclave-witness'): Promise<WitnessKey> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'witness-key.json');
  try {
    const j = JSON.parse(await readFile(path, 'utf8')) as { name: string; pkcs8: string };
    return { name: j.name, privateKey: createPrivateKey({ key: Buffer.from(j.pkcs8, 'base64'), format: 'der', type: 'pkcs8' }) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!isValidKeyName(name)) throw new NoteError('bad_key', `invalid witness name ${JSON.stringify(name)}`);
  const { privateKey } = generateKeyPairSync('ed25519');
  await writeAtomic(path, `${JSON.stringify({ name, pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64') })}\n`);
  return { name, privateKey };
}

class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, message: string, type = 'text/plain; charset=utf-8') {
    super(message);
    this.status = status;
    this.type = type;
  }
}

/** The witness logic, independent of HTTP: one log state file per origin in `dir/logs`. */
export class Witness {
  readonly key: WitnessKey;
  readonly #dir: string;
  readonly #logs: Map<string, NoteVerifier>;
  /** Requests are handled one at a time: check, persist, then answer. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string, key: WitnessKey, logKeys: readonly string[]) {
    this.#dir = dir;
    this.key = key;
    this.#logs = new Map(logKeys.map((k) => {
      const v = parseVerifierKey(k);
      return [v.name, v] as const;
    }));
  }

  get verifierKey(): string {
    return cosignerVerifierKey(this.key);
  }

  #path(origin: string): string {
    return join(this.#dir, 'logs', `${createHash('sha256').update(origin, 'utf8').digest('hex')}.json`);
  }

  async latest(origin: string): Promise<LogState | null> {
    try {
      return JSON.parse(await readFile(this.#path(origin), 'utf8')) as LogState;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /** Handles an add-checkpoint body; returns the cosignature line or throws HttpError. */
  addCheckpoint(body: string): Promise<string> {
    const run = this.#queue.then(() => this.#add(body));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #add(body: string): Promise<string> {
    const blank = body.indexOf('\n\n');
    if (blank < 0) throw new HttpError(400, 'expected "old N", proof lines, a blank line, then the checkpoint');
    const [oldLine, ...proofLines] = body.slice(0, blank).split('\n');
    const m = /^old (0|[1-9][0-9]{0,15})$/.exec(oldLine ?? '');
    if (m === null) throw new HttpError(400, 'first line must be "old <size>"');
    const oldSize = Number(m[1]);
    const proof = proofLines.map((l) => decodeBase64Strict(l));
    if (proof.some((p) => p === undefined || p.length !== 32) || proof.length > 63) throw new HttpError(400, 'proof lines must be base64 SHA-256 hashes');
    const note = body.slice(blank + 2);
    const firstLine = note.slice(0, note.indexOf('\n'));
    const logKey = this.#logs.get(firstLine);
    if (logKey === undefined) throw new HttpError(404, `unknown log origin ${JSON.stringify(firstLine)}`);
    let cp;
    try {
      cp = openCheckpoint(note, [logKey], logKey.name);
    } catch (e) {
      if (e instanceof NoteError && e.kind === 'malformed') throw new HttpError(400, `malformed checkpoint: ${e.message}`);
      throw new HttpError(403, 'checkpoint not signed by the known log key');
    }
    const size = Number(cp.treeSize);
    if (oldSize > size) throw new HttpError(400, 'old size is larger than the checkpoint size');
    const prev = await this.latest(cp.origin);
    const prevSize = prev?.size ?? 0;
    if (oldSize !== prevSize) throw new HttpError(409, `${prevSize}\n`, 'text/x.tlog.size');
    const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
    if (prev !== null) {
      const prevRoot = Buffer.from(prev.root, 'base64');
      try {
        if (prevSize === size) {
          if (!prevRoot.equals(cp.rootHash) || proof.length > 0) throw new ProofError('same size, different root');
        } else {
          verifyConsistency(prevSize, size, proof as Buffer[], prevRoot, cp.rootHash);
        }
      } catch (e) {
        throw new HttpError(422, `not consistent with the checkpoint of size ${prevSize} cosigned earlier: ${e instanceof Error ? e.message : 'error'}`);
      }
    } else if (proof.length > 0) {
      throw new HttpError(422, 'no earlier checkpoint: the proof must be empty');
    }
    const line = cosign(this.key, text);
    // Persisted before answering: a restart never cosigns something inconsistent with it.
    await mkdir(join(this.#dir, 'logs'), { recursive: true, mode: 0o700 });
    const signed = `${note.endsWith('\n') ? note : `${note}\n`}${line}`;
    await writeAtomic(this.#path(cp.origin), `${JSON.stringify({ origin: cp.origin, size, root: cp.rootHash.toString('base64'), note: signed } satisfies LogState)}\n`);
    return line;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts a witness HTTP server on `host:port` (port 0 picks one).
 *
 * @example
 *   const w = await startWitnessServer({ dir: '/var/lib/witness', logKeys: [vkey] }, { port: 7380 });
 *   console.log(w.url, w.witness.verifierKey);
 */
export async function startWitnessServer(o: WitnessOptions, listen: { readonly host?: string; readonly port?: number } = {}): Promise<{ readonly server: Server; readonly url: string; readonly witness: Witness; close(): Promise<void> }> {
  const key = await loadWitnessKey(o.dir, o.name);
  const witness = new Witness(o.dir, key, o.logKeys);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://witness');
    try {
      if (req.method === 'POST' && url.pathname === '/add-checkpoint') {
        const line = await witness.addCheckpoint(await readBody(req));
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(line);
        return;
      }
      if (req.method === 'GET' && url.pathname === '/checkpoint') {
        const origin = url.searchParams.get('origin') ?? '';
        const s = await witness.latest(origin);
        if (s === null) throw new HttpError(404, `no checkpoint cosigned for ${JSON.stringify(origin)}`);
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(s.note);
        return;
      }
      if (req.method === 'GET' && url.pathname === '/key') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${witness.verifierKey}\n`);
        return;
      }
      throw new HttpError(404, 'not found');
    } catch (e) {
      const he = e instanceof HttpError ? e : new HttpError(500, 'internal error');
      res.writeHead(he.status, { 'Content-Type': he.type }).end(he.status === 409 ? he.message : `${he.message}\n`);
    }
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    server,
    url: `http://${listen.host ?? '127.0.0.1'}:${port}`,
    witness,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** How the log reaches one witness. */
export interface WitnessEndpoint {
  /** Base URL; `/add-checkpoint` and `/checkpoint` are under it. */
  readonly url: string;
  /** The witness's cosigner key (`name+hash+base64(0x04 ‖ pub)`). */
  readonly key: string;
}

export type AddResult =
  | { readonly kind: 'cosigned'; readonly line: string }
  | { readonly kind: 'conflict'; readonly size: number }
  | { readonly kind: 'refused'; readonly status: number; readonly message: string };

/** Client side of the protocol. */
export class WitnessClient {
  readonly endpoint: WitnessEndpoint;
  readonly verifier: NoteVerifier & { readonly vkey: string };
  readonly #timeoutMs: number;

  constructor(endpoint: WitnessEndpoint, timeoutMs = 10_000) {
    this.endpoint = endpoint;
    this.verifier = parseCosignerKey(endpoint.key);
    this.#timeoutMs = timeoutMs;
  }

  get name(): string {
    return this.verifier.name;
  }

  /** The last checkpoint this witness cosigned for `origin`, cosignature checked; null if none. */
  async latest(origin: string, logKey: NoteVerifier): Promise<{ size: number; root: Buffer; note: string } | null> {
    const r = await fetch(`${this.endpoint.url.replace(/\/$/, '')}/checkpoint?origin=${encodeURIComponent(origin)}`, { signal: AbortSignal.timeout(this.#timeoutMs) });
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`witness ${this.name} answered ${r.status}`);
    const note = await r.text();
    const byLog = openCheckpoint(note, [logKey], origin);
    openCheckpoint(note, [this.verifier], origin);
    return { size: Number(byLog.treeSize), root: byLog.rootHash, note };
  }

  async add(oldSize: number, proof: readonly Buffer[], note: string): Promise<AddResult> {
    const body = `old ${oldSize}\n${proof.map((p) => `${p.toString('base64')}\n`).join('')}\n${note}`;
    const r = await fetch(`${this.endpoint.url.replace(/\/$/, '')}/add-checkpoint`, { method: 'POST', body, signal: AbortSignal.timeout(this.#timeoutMs) });
    const text = await r.text();
    if (r.status === 200) {
      const line = text.split('\n').find((l) => l.startsWith(`\u2014 ${this.name} `));
      if (line === undefined) return { kind: 'refused', status: 200, message: 'no cosignature line by the expected key' };
      return { kind: 'cosigned', line: `${line}\n` };
    }
    if (r.status === 409) return { kind: 'conflict', size: Number(text.trim()) };
    return { kind: 'refused', status: r.status, message: text.trim() };
  }
}
