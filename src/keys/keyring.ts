import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../errors.ts';

/**
 * The file keyring: the embedded default's stand-in for an HSM or a cloud KMS. It holds the
 * master keys (which wrap every data key), in a file readable by its owner only (0600), kept
 * outside the repository and the data directory. The audit log's signing key is a separate
 * secret in a separate file (audit-signing-key.ts): whoever signs the log, or runs beside it,
 * must not hold the master key.
 */
export interface MasterKey {
  readonly id: string;
  readonly key: string; // base64, 32 bytes
  readonly createdAt: string;
  /** `pending` during a rotation until the database references it. */
  readonly state: 'active' | 'pending' | 'retired';
}

export interface KeyringFile {
  readonly format: 'enclave-keyring/1';
  readonly masterKeys: readonly MasterKey[];
  /**
   * Only in keyrings written before the audit signing key got its own file: moved out to that
   * file on the next start (audit-signing-key.ts) and never written back.
   */
  readonly auditSigningKey?: string;
}

export function newMasterKey(state: MasterKey['state']): MasterKey {
  return {
    id: `mk_${randomBytes(8).toString('hex')}`,
    key: randomBytes(32).toString('base64'),
    createdAt: new Date().toISOString(),
    state,
  };
}

export function newKeyring(): KeyringFile {
  return { format: 'enclave-keyring/1', masterKeys: [newMasterKey('active')] };
}

/** Reads the keyring, refusing one that others could read. Returns undefined if absent. */
export async function readKeyring(path: string): Promise<KeyringFile | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if ((mode & 0o077) !== 0) {
    throw new AppError('forbidden', `keyring ${path} is readable by other users (mode ${(mode & 0o777).toString(8)})`, {
      hint: `restrict it with: chmod 600 ${path}`,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new AppError('invalid', `keyring ${path} is not valid JSON`, { hint: 'restore it from your key backup' });
  }
  const k = parsed as Partial<KeyringFile>;
  if (k.format !== 'enclave-keyring/1' || !Array.isArray(k.masterKeys) || (k.auditSigningKey !== undefined && typeof k.auditSigningKey !== 'string')) {
    throw new AppError('invalid', `keyring ${path} is not an enclave-keyring/1 file`, { hint: 'restore it from your key backup' });
  }
  return k as KeyringFile;
}

/**
 * Writes atomically (temp file, fsync, rename) with mode 0600 in a 0700 directory. A legacy
 * audit signing key is never written back: it lives in its own file.
 */
export async function writeKeyring(path: string, withLegacy: KeyringFile): Promise<void> {
  const keyring: KeyringFile = { format: withLegacy.format, masterKeys: withLegacy.masterKeys };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(keyring, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
