import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../errors.ts';
import { readKeyring, writeKeyring } from './keyring.ts';

/**
 * The audit log's Ed25519 signing key, in its own file (mode 0600), apart from the master
 * keyring: a process that signs the log (or a witness beside it) is given this file and never
 * the master key, and a leak of one secret does not give the other.
 */
interface AuditKeyFile {
  readonly format: 'enclave-audit-signing-key/1';
  /** Ed25519 private key, PKCS#8 DER, base64. */
  readonly pkcs8: string;
}

async function writeAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

const parse = (pkcs8: string): KeyObject => createPrivateKey({ key: Buffer.from(pkcs8, 'base64'), format: 'der', type: 'pkcs8' });

/**
 * Loads the audit signing key from `path`, creating it on first start. A keyring written before
 * the split still holds the key: it is moved here (same key, so the log's public key and every
 * signature stay valid) and removed from the keyring, which is rewritten with its master keys
 * only. Returns whether the file was created or moved now.
 */
export async function loadAuditSigningKey(path: string, keyringPath: string): Promise<{ readonly key: KeyObject; readonly created: 'new' | 'moved' | false }> {
  let mode: number | undefined;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (mode !== undefined) {
    if ((mode & 0o077) !== 0) throw new AppError('forbidden', `audit signing key ${path} is readable by other users (mode ${(mode & 0o777).toString(8)})`, { hint: `restrict it with: chmod 600 ${path}` });
    let f: Partial<AuditKeyFile>;
    try {
      f = JSON.parse(await readFile(path, 'utf8')) as Partial<AuditKeyFile>;
    } catch {
      throw new AppError('invalid', `audit signing key ${path} is not valid JSON`, { hint: 'restore it from your key backup' });
    }
    if (f.format !== 'enclave-audit-signing-key/1' || typeof f.pkcs8 !== 'string') throw new AppError('invalid', `${path} is not an enclave-audit-signing-key/1 file`, { hint: 'restore it from your key backup' });
    const key = parse(f.pkcs8);
    // A legacy keyring beside it still carrying the key (an interrupted move): finish the move.
    const keyring = await readKeyring(keyringPath).catch(() => undefined);
    if (keyring?.auditSigningKey !== undefined) await writeKeyring(keyringPath, keyring);
    return { key, created: false };
  }
  const keyring = await readKeyring(keyringPath);
  const pkcs8 = keyring?.auditSigningKey ?? generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  const key = parse(pkcs8);
  // The new file first: if the process stops in between, the key is in both, never in neither.
  await writeAtomic(path, `${JSON.stringify({ format: 'enclave-audit-signing-key/1', pkcs8 } satisfies AuditKeyFile, null, 2)}\n`);
  if (keyring?.auditSigningKey !== undefined) {
    await writeKeyring(keyringPath, keyring);
    return { key, created: 'moved' };
  }
  return { key, created: 'new' };
}
