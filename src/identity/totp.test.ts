import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base32Decode, base32Encode, totp, verifyTotp } from './totp.ts';

// RFC 6238 appendix B: 8-digit codes for the ASCII secret "12345678901234567890" (SHA-1).
const VECTORS: readonly [number, string][] = [
  [59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'], [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130'],
];

test('TOTP matches the RFC 6238 SHA-1 test vectors', () => {
  const key = Buffer.from('12345678901234567890');
  for (const [t, code] of VECTORS) assert.equal(totp(key, t * 1000, { digits: 8 }), code, `T=${t}`);
});

test('a code is accepted one step either side and refused two steps away', () => {
  const secret = base32Encode(Buffer.from('12345678901234567890'));
  const now = 1_700_000_000_000;
  const code = totp(base32Decode(secret), now);
  assert.equal(verifyTotp(secret, code, now + 30_000), true);
  assert.equal(verifyTotp(secret, code, now - 30_000), true);
  assert.equal(verifyTotp(secret, code, now + 61_000), false);
  assert.equal(verifyTotp(secret, 'abcdef', now), false);
});

test('base32 round-trips', () => {
  const b = Buffer.from([0, 1, 2, 250, 255, 17, 99]);
  assert.deepEqual(base32Decode(base32Encode(b)), b);
});
