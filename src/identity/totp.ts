/**
 * TOTP (RFC 6238) over HOTP (RFC 4226) with node's HMAC: the second factor of the embedded
 * identity provider. Small enough to keep in-house; checked against the RFC's test vectors.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Codes of the previous and next step are also accepted (clock drift of one step). */
export const TOTP_WINDOW = 1;

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(buf: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(s: string): Buffer {
  const clean = s.replace(/=+$/, '').replace(/\s+/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const i = B32.indexOf(ch);
    if (i < 0) throw new Error('invalid base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** HOTP value of `counter` (RFC 4226 §5.3), `digits` long, with the given HMAC hash. */
export function hotp(key: Uint8Array, counter: bigint, digits = TOTP_DIGITS, algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = createHmac(algorithm, key).update(msg).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return bin.toString().padStart(digits, '0');
}

/** TOTP at `timeMs` (RFC 6238). */
export function totp(key: Uint8Array, timeMs: number, options: { digits?: number; algorithm?: 'sha1' | 'sha256' | 'sha512' } = {}): string {
  return hotp(key, BigInt(totpStep(timeMs)), options.digits ?? TOTP_DIGITS, options.algorithm ?? 'sha1');
}

/** The RFC 6238 time step (counter) at `timeMs`. */
export function totpStep(timeMs: number): number {
  return Math.floor(timeMs / 1000 / TOTP_STEP_SECONDS);
}

/**
 * The time step whose TOTP of `secretBase32` is `code`, within ±TOTP_WINDOW steps of `timeMs`;
 * null when none is. The caller refuses a step not later than the last one it accepted
 * (RFC 6238 §5.2: a code is accepted once). Should one code match two steps, the later wins.
 */
export function totpStepOf(secretBase32: string, code: string, timeMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const key = base32Decode(secretBase32);
  const now = totpStep(timeMs);
  let matched: number | null = null;
  for (let d = -TOTP_WINDOW; d <= TOTP_WINDOW; d++) {
    const expected = Buffer.from(hotp(key, BigInt(now + d)));
    // no early exit: the time taken does not tell which step matched
    if (timingSafeEqual(expected, Buffer.from(code))) matched = now + d;
  }
  return matched;
}

/** True when `code` is the TOTP of `secretBase32` at `timeMs`, within ±TOTP_WINDOW steps (replay not checked: see totpStepOf). */
export function verifyTotp(secretBase32: string, code: string, timeMs: number): boolean {
  return totpStepOf(secretBase32, code, timeMs) !== null;
}

/** A new random 160-bit secret, base32 (what authenticator apps expect). */
export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** The otpauth:// URI an authenticator app scans. */
export function otpauthUri(issuer: string, account: string, secretBase32: string): string {
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?secret=${secretBase32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_STEP_SECONDS}`;
}
