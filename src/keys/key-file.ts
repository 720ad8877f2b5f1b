/**
 * The owner-only JSON files that hold one Ed25519 private key each (the audit signing key, the
 * airlock's release-signing key): `{"format": "<kind>/1", "pkcs8": "<base64 DER>"}`, mode 0600 in
 * a 0700 folder, written atomically.
 */
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../errors.ts';

/** The private key held in a PKCS#8 DER, base64. */
export const privateKeyOf = (pkcs8: string): KeyObject => createPrivateKey({ key: Buffer.from(pkcs8, 'base64'), format: 'der', type: 'pkcs8' });

/**
 * Reads the key file at `path`, or undefined when there is none. Refused with the fix: a file
 * others may read, a file that is not JSON, or not of `format`.
 *
 * @param label how to name the file in errors, e.g. `audit signing key`
 */
export async function readKeyFile(path: string, label: string, format: string): Promise<KeyObject | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return undefined;
  }
  if ((mode & 0o077) !== 0) throw new AppError('forbidden', `${label} ${path} is readable by other users (mode ${(mode & 0o777).toString(8)})`, { hint: `restrict it with: chmod 600 ${path}` });
  let f: { format?: unknown; pkcs8?: unknown };
  try {
    f = JSON.parse(await readFile(path, 'utf8')) as typeof f;
  } catch {
    throw new AppError('invalid', `${label} ${path} is not valid JSON`, { hint: 'restore it from your key backup' });
  }
  if (f.format !== format || typeof f.pkcs8 !== 'string') throw new AppError('invalid', `${path} is not an ${format} file`, { hint: 'restore it from your key backup' });
  return privateKeyOf(f.pkcs8);
}

/** Writes the key file (0600, its folder 0700 if new), atomically: a crash leaves the old file or the new one. */
export async function writeKeyFile(path: string, format: string, pkcs8: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify({ format, pkcs8 }, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
