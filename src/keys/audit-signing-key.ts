import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { privateKeyOf, readKeyFile, writeKeyFile } from './key-file.ts';
import { readKeyring, writeKeyring } from './keyring.ts';

/**
 * The audit log's Ed25519 signing key, in its own file (mode 0600), apart from the master
 * keyring: a process that signs the log (or a witness beside it) is given this file and never
 * the master key, and a leak of one secret does not give the other.
 */
const FORMAT = 'enclave-audit-signing-key/1';

/**
 * Loads the audit signing key from `path`, creating it on first start. A keyring written before
 * the split still holds the key: it is moved here (same key, so the log's public key and every
 * signature stay valid) and removed from the keyring, which is rewritten with its master keys
 * only. Returns whether the file was created or moved now.
 */
export async function loadAuditSigningKey(path: string, keyringPath: string): Promise<{ readonly key: KeyObject; readonly created: 'new' | 'moved' | false }> {
  const existing = await readKeyFile(path, 'audit signing key', FORMAT);
  if (existing !== undefined) {
    // A legacy keyring beside it still carrying the key (an interrupted move): finish the move.
    const keyring = await readKeyring(keyringPath).catch(() => undefined);
    if (keyring?.auditSigningKey !== undefined) await writeKeyring(keyringPath, keyring);
    return { key: existing, created: false };
  }
  const keyring = await readKeyring(keyringPath);
  const pkcs8 = keyring?.auditSigningKey ?? generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  const key = privateKeyOf(pkcs8);
  // The new file first: if the process stops in between, the key is in both, never in neither.
  await writeKeyFile(path, FORMAT, pkcs8);
  if (keyring?.auditSigningKey !== undefined) {
    await writeKeyring(keyringPath, keyring);
    return { key, created: 'moved' };
  }
  return { key, created: 'new' };
}
