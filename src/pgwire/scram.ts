/**
 * The server side of a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677, as PostgreSQL uses it:
 * the user name travels in the startup message, not in SASL; no channel binding is offered).
 * The proof is checked against each candidate verifier: the project's live tokens share one
 * salt (src/identity/scram.ts), and the matching token says who the client is.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';

export interface ScramCandidate {
  readonly tokenId: string;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export class ScramError extends Error {}

/** One exchange: `first(clientFirst)` → server-first message; `final(clientFinal)` → the matching token and the server-final message. */
export class ScramExchange {
  readonly #salt: Buffer;
  readonly #iterations: number;
  readonly #candidates: readonly ScramCandidate[];
  #clientFirstBare = '';
  #serverFirst = '';
  #gs2 = '';
  #nonce = '';

  constructor(salt: Buffer, iterations: number, candidates: readonly ScramCandidate[]) {
    this.#salt = salt;
    this.#iterations = iterations;
    this.#candidates = candidates;
  }

  first(clientFirst: string): string {
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/.exec(clientFirst);
    if (m === null) throw new ScramError('malformed SCRAM client-first message');
    if ((m[1] ?? '').startsWith('p=')) throw new ScramError('channel binding is not offered by this server');
    this.#gs2 = `${m[1] ?? 'n'},${m[2] ?? ''},`;
    this.#clientFirstBare = m[3] ?? '';
    const nonce = /(?:^|,)r=([^,]+)/.exec(this.#clientFirstBare)?.[1];
    if (nonce === undefined || !/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) throw new ScramError('the SCRAM client nonce is missing or malformed');
    this.#nonce = nonce + randomBytes(18).toString('base64');
    this.#serverFirst = `r=${this.#nonce},s=${this.#salt.toString('base64')},i=${this.#iterations}`;
    return this.#serverFirst;
  }

  /** The token whose verifier accepts the proof (and the server-final message), or null. */
  final(clientFinal: string): { readonly tokenId: string; readonly serverFinal: string } | null {
    const m = /^c=([^,]*),r=([^,]*)(?:,.*)?,p=([A-Za-z0-9+/=]+)$/.exec(clientFinal);
    if (m === null) throw new ScramError('malformed SCRAM client-final message');
    if (m[1] !== Buffer.from(this.#gs2).toString('base64')) throw new ScramError('SCRAM channel binding data do not match');
    if (m[2] !== this.#nonce) throw new ScramError('SCRAM nonce does not match');
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const proof = Buffer.from(m[3] ?? '', 'base64');
    if (proof.length !== 32) return null;
    for (const c of this.#candidates) {
      const signature = createHmac('sha256', c.storedKey).update(authMessage).digest();
      const clientKey = Buffer.alloc(32);
      for (let i = 0; i < 32; i++) clientKey[i] = (proof[i] ?? 0) ^ (signature[i] ?? 0);
      if (timingSafeEqual(createHash('sha256').update(clientKey).digest(), c.storedKey)) {
        return { tokenId: c.tokenId, serverFinal: `v=${createHmac('sha256', c.serverKey).update(authMessage).digest('base64')}` };
      }
    }
    return null;
  }
}
