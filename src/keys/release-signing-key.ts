import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../errors.ts';

/**
 * The airlock's Ed25519 release-signing key, in its own file (mode 0600), made the way the audit
 * signing key is (src/keys/audit-signing-key.ts) but distinct from it: a signature over a
 * released bundle can never be mistaken for a log signature, and either key can be rotated or
 * revoked alone. Its public key is published (`GET /api/v1/airlock/signing-key`) so that anyone
 * checks a bundle offline with `enclave airlock verify --public-key`.
 */
interface ReleaseKeyFile {
  readonly format: 'enclave-release-signing-key/1';
  /** Ed25519 private key, PKCS#8 DER, base64. */
  readonly pkcs8: string;
}

export interface ReleaseSigningKey {
  readonly privateKey: KeyObject;
  /** `ed25519:<base64 of the 32-byte raw public key>`. */
  readonly publicKey: string;
  /** First 16 hex digits of the SHA-256 of the raw public key. */
  readonly keyId: string;
}

/** The raw 32-byte public key of an Ed25519 key (private or public). */
function rawPublic(key: KeyObject): Buffer {
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  // An Ed25519 SubjectPublicKeyInfo is a 12-byte prefix and the 32-byte key.
  return spki.subarray(spki.length - 32);
}

/** The published form of a release-signing key: `ed25519:<base64>` and its id. */
export function releasePublicKey(key: KeyObject): { readonly publicKey: string; readonly keyId: string } {
  const raw = rawPublic(key);
  return { publicKey: `ed25519:${raw.toString('base64')}`, keyId: createHash('sha256').update(raw).digest('hex').slice(0, 16) };
}

/** Generates a new in-memory key (tests). */
export function generateReleaseSigningKey(): ReleaseSigningKey {
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  return { privateKey, ...releasePublicKey(privateKey) };
}

/** Loads the release-signing key from `path`, creating it (mode 0600) on first start. */
export async function loadReleaseSigningKey(path: string): Promise<ReleaseSigningKey & { readonly created: boolean }> {
  let mode: number | undefined;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (mode !== undefined) {
    if ((mode & 0o077) !== 0) throw new AppError('forbidden', `release signing key ${path} is readable by other users (mode ${(mode & 0o777).toString(8)})`, { hint: `restrict it with: chmod 600 ${path}` });
    let f: Partial<ReleaseKeyFile>;
    try {
      f = JSON.parse(await readFile(path, 'utf8')) as Partial<ReleaseKeyFile>;
    } catch {
      throw new AppError('invalid', `release signing key ${path} is not valid JSON`, { hint: 'restore it from your key backup' });
    }
    if (f.format !== 'enclave-release-signing-key/1' || typeof f.pkcs8 !== 'string') throw new AppError('invalid', `${path} is not an enclave-release-signing-key/1 file`, { hint: 'restore it from your key backup' });
    const privateKey = createPrivateKey({ key: Buffer.from(f.pkcs8, 'base64'), format: 'der', type: 'pkcs8' });
    return { privateKey, ...releasePublicKey(privateKey), created: false };
  }
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify({ format: 'enclave-release-signing-key/1', pkcs8 } satisfies ReleaseKeyFile, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  return { privateKey, ...releasePublicKey(privateKey), created: true };
}
