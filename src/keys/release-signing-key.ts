import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readKeyFile, writeKeyFile } from './key-file.ts';

/**
 * The airlock's Ed25519 release-signing key, in its own file (mode 0600), made the way the audit
 * signing key is (src/keys/audit-signing-key.ts) but distinct from it: a signature over a
 * released bundle can never be mistaken for a log signature, and either key can be rotated or
 * revoked alone. Its public key is published (`GET /api/v1/airlock/signing-key`) so that anyone
 * checks a bundle offline with `enclave airlock verify --public-key`.
 */
const FORMAT = 'enclave-release-signing-key/1';

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
  const existing = await readKeyFile(path, 'release signing key', FORMAT);
  if (existing !== undefined) return { privateKey: existing, ...releasePublicKey(existing), created: false };
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  await writeKeyFile(path, FORMAT, privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'));
  return { privateKey, ...releasePublicKey(privateKey), created: true };
}
