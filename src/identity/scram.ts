/**
 * SCRAM-SHA-256 verifiers of API tokens (RFC 5802, RFC 7677), for the PostgreSQL-protocol
 * endpoint: a token is stored as its SHA-256 (HTTP bearer) and as its SCRAM StoredKey and
 * ServerKey, from which a server checks a client's proof without ever holding the token.
 *
 * The salt is one per project, derived from its id: in SCRAM the server sends the salt before
 * the client proves which password it holds, and a project has several tokens (one or more per
 * member), so they share one salt and the server tries the proof against each. Salts defend
 * low-entropy passwords against precomputation; tokens are 256-bit random secrets.
 *
 * @example
 *   const v = scramVerifier('enc_…', scramSalt('p1'));
 *   // v.storedKey, v.serverKey are stored beside the token's hash
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';

/** PostgreSQL's own default iteration count (`scram_iterations`). */
export const SCRAM_ITERATIONS = 4096;

export interface ScramVerifier {
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** The salt of a project's tokens (16 bytes). */
export function scramSalt(projectId: string): Buffer {
  return createHash('sha256').update(`enclave-pgwire-scram\u0000${projectId}`).digest().subarray(0, 16);
}

/** StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"). */
export function scramVerifier(password: string, salt: Buffer, iterations = SCRAM_ITERATIONS): ScramVerifier {
  // Tokens are ASCII, for which SASLprep is the identity.
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return { storedKey: createHash('sha256').update(clientKey).digest(), serverKey: createHmac('sha256', salted).update('Server Key').digest() };
}
