/**
 * Password hashing of the embedded provider's accounts: scrypt (node's crypto), salted, with its
 * parameters in the stored string.
 */
import { randomBytes, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';

const SCRYPT = { N: 16384, r: 8, p: 1 } as const satisfies ScryptOptions;
const scryptAsync = (pw: BinaryLike, salt: BinaryLike, len: number): Promise<Buffer> =>
  new Promise((resolve, reject) => scrypt(pw, salt, len, SCRYPT, (e, k) => (e === null ? resolve(k) : reject(e))));

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const [kind, , , , salt, key] = hash.split('$');
  if (kind !== 'scrypt' || salt === undefined || key === undefined) return false;
  const expected = Buffer.from(key, 'base64');
  const got = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(expected, got);
}
