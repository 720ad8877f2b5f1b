/**
 * oidc-provider's storage adapter on the metadata database (table identity_oidc_store), so the
 * embedded provider's logins in progress (interactions), sessions, grants, authorization codes
 * and tokens survive a restart of Enclave. One row per model and id; a row past its expiry is
 * treated as absent at once and deleted later by a prune (at most once a minute, on a write).
 *
 * Contract: https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js
 * Bookkeeping of the provider, not audited (the logins it leads to are).
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Queryable } from '../db/index.ts';

/** Models whose rows carry a grantId that revokeByGrantId acts on (as oidc-provider's memory adapter). */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

/** Minimum time between two prunes of expired rows. */
export const OIDC_STORE_PRUNE_INTERVAL_MS = 60_000;

interface Row {
  payload: AdapterPayload;
  consumed_at: Date | string | null;
}

/** The payload as the provider stored it, with `consumed` (epoch seconds) once used. */
function toPayload(r: Row | undefined): AdapterPayload | undefined {
  if (r === undefined) return undefined;
  return r.consumed_at === null ? r.payload : { ...r.payload, consumed: Math.floor(new Date(r.consumed_at).getTime() / 1000) };
}

/** Shared by the adapters of one provider: when expired rows were last pruned. */
export interface OidcStoreOptions {
  readonly now?: () => Date;
}

/**
 * @example
 *   new Provider(issuer, { ...configuration, adapter: oidcStoreAdapter(db) });
 */
export function oidcStoreAdapter(db: Queryable, o: OidcStoreOptions = {}): (model: string) => Adapter {
  const now = o.now ?? (() => new Date());
  let lastPrune = 0;
  const prune = async (): Promise<void> => {
    const t = now();
    if (t.getTime() - lastPrune < OIDC_STORE_PRUNE_INTERVAL_MS) return;
    lastPrune = t.getTime();
    await db.query('DELETE FROM identity_oidc_store WHERE expires_at <= $1', [t]);
  };
  return (model) => new OidcStore(db, model, now, prune);
}

export class OidcStore implements Adapter {
  readonly #db: Queryable;
  readonly #model: string;
  readonly #now: () => Date;
  readonly #prune: () => Promise<void>;

  constructor(db: Queryable, model: string, now: () => Date, prune: () => Promise<void>) {
    this.#db = db;
    this.#model = model;
    this.#now = now;
    this.#prune = prune;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const t = this.#now();
    const expiresAt = typeof expiresIn === 'number' ? new Date(t.getTime() + expiresIn * 1000) : null;
    const grantId = GRANTABLE.has(this.#model) && typeof payload.grantId === 'string' ? payload.grantId : null;
    const userCode = typeof payload.userCode === 'string' ? payload.userCode : null;
    const uid = this.#model === 'Session' && typeof payload.uid === 'string' ? payload.uid : null;
    // A re-save keeps the consumption mark (the provider never un-consumes).
    await this.#db.query(
      `INSERT INTO identity_oidc_store (model, id, payload, grant_id, user_code, uid, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
      [this.#model, id, JSON.stringify(payload), grantId, userCode, uid, expiresAt],
    );
    await this.#prune();
  }

  async #findWhere(column: 'id' | 'user_code' | 'uid', value: string): Promise<AdapterPayload | undefined> {
    const [r] = await this.#db.query<Row>(
      `SELECT payload, consumed_at FROM identity_oidc_store WHERE model = $1 AND ${column} = $2 AND (expires_at IS NULL OR expires_at > $3) LIMIT 1`,
      [this.#model, value, this.#now()],
    );
    return toPayload(r);
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.#findWhere('id', id);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findWhere('user_code', userCode);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findWhere('uid', uid);
  }

  /**
   * Marks a code or token used. Conditional: of two concurrent redemptions of one code, the
   * second is refused with invalid_grant (the provider checks `consumed` before calling this,
   * but two requests can both pass that check).
   */
  async consume(id: string): Promise<void> {
    const rows = await this.#db.query(
      'UPDATE identity_oidc_store SET consumed_at = $3 WHERE model = $1 AND id = $2 AND consumed_at IS NULL RETURNING id',
      [this.#model, id, this.#now()],
    );
    if (rows.length === 0) throw new errors.InvalidGrant(`${this.#model === 'AuthorizationCode' ? 'authorization code' : 'grant'} already consumed`);
  }

  async destroy(id: string): Promise<void> {
    await this.#db.query('DELETE FROM identity_oidc_store WHERE model = $1 AND id = $2', [this.#model, id]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#db.query('DELETE FROM identity_oidc_store WHERE model = $1 AND grant_id = $2', [this.#model, grantId]);
  }
}

/** A login step of the embedded provider awaiting its second factor. */
export interface PendingLogin {
  readonly username: string;
  /** Methods already proven: ['pwd'] after the password, [] after the demo picker. */
  readonly methods: readonly string[];
}

/**
 * Login steps awaiting their second factor, by interaction uid, kept beside the provider's own
 * state (model EnclaveLoginStep) so a restart between the password and the TOTP code loses
 * nothing. The uid alone gives nothing: the provider binds it to the browser's signed
 * interaction cookie.
 */
export class PendingLogins {
  static readonly MODEL = 'EnclaveLoginStep';
  readonly #db: Queryable;
  readonly #ttlMs: number;

  constructor(db: Queryable, ttlMs: number) {
    this.#db = db;
    this.#ttlMs = ttlMs;
  }

  async put(uid: string, p: PendingLogin): Promise<void> {
    await this.#db.query(
      `INSERT INTO identity_oidc_store (model, id, payload, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload, expires_at = EXCLUDED.expires_at`,
      [PendingLogins.MODEL, uid, JSON.stringify({ username: p.username, methods: [...p.methods] }), new Date(Date.now() + this.#ttlMs)],
    );
  }

  async get(uid: string): Promise<PendingLogin | undefined> {
    const [r] = await this.#db.query<{ payload: PendingLogin }>('SELECT payload FROM identity_oidc_store WHERE model = $1 AND id = $2 AND expires_at > $3', [PendingLogins.MODEL, uid, new Date()]);
    return r?.payload;
  }

  async delete(uid: string): Promise<void> {
    await this.#db.query('DELETE FROM identity_oidc_store WHERE model = $1 AND id = $2', [PendingLogins.MODEL, uid]);
  }
}
