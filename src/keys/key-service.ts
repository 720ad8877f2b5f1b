import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Actor, AuditLog, AuditedTx } from '../audit/index.ts';
import type { Db, Queryable } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { newKeyring, newMasterKey, readKeyring, writeKeyring, type KeyringFile, type MasterKey } from './keyring.ts';

export type KeyScope = 'dataset' | 'project';
export type KeyPurpose = 'encryption' | 'pseudonymisation';

export interface DataKeyInfo {
  readonly id: string;
  readonly scope: KeyScope;
  readonly scopeId: string;
  readonly purpose: KeyPurpose;
  readonly state: 'active' | 'destroyed';
  readonly masterKeyId: string | null;
  readonly createdAt: string;
}

interface DataKeyRow {
  id: string;
  scope: KeyScope;
  scope_id: string;
  purpose: KeyPurpose;
  master_key_id: string | null;
  wrapped: Uint8Array | null;
  state: 'active' | 'destroyed';
  created_at: Date;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The key service: envelope encryption with data keys per dataset and per project, each
 * wrapped (AES-256-GCM) by the master key of the keyring. Callers never receive a key to keep:
 * `withDataKey` lends the clear key to a callback and wipes it afterwards.
 *
 * @example
 *   const keys = await KeyService.open(config.keyringPath, db, audit);
 *   await keys.withDataKey('dataset', 'snds', 'encryption', (key) => writeEncrypted(file, key));
 */
export class KeyService {
  readonly keyringPath: string;
  private keyring: KeyringFile;
  private readonly db: Db;
  private readonly audit: AuditLog;
  /** True when this process created the keyring (first start). */
  readonly created: boolean;

  private constructor(path: string, keyring: KeyringFile, db: Db, audit: AuditLog, created: boolean) {
    this.keyringPath = path;
    this.keyring = keyring;
    this.db = db;
    this.audit = audit;
    this.created = created;
  }

  /**
   * Opens the keyring, creating it (0600) only for a data directory that has no wrapped data key
   * yet. A keyring that does not hold the master key of this database's data keys (a wrong
   * ENCLAVE_KEYRING, a missing file) is refused before anything is created: a fresh master key
   * could never unwrap them, and the data they encrypt would look lost.
   *
   * @param where how to name the data directory in the error (never a URL with credentials)
   */
  static async loadKeyring(path: string, db: Queryable, where = 'this data directory'): Promise<{ keyring: KeyringFile; created: boolean }> {
    const existing = await readKeyring(path);
    const wrapping = await db.query<{ master_key_id: string; n: string }>(
      "SELECT master_key_id, count(*)::text AS n FROM data_keys WHERE state = 'active' AND master_key_id IS NOT NULL GROUP BY master_key_id ORDER BY count(*) DESC, master_key_id",
    );
    const held = new Set(existing?.masterKeys.map((m) => m.id) ?? []);
    const missing = wrapping.filter((w) => !held.has(w.master_key_id));
    if (missing.length > 0) {
      const ids = missing.map((m) => m.master_key_id).join(', ');
      const count = missing.reduce((a, m) => a + Number(m.n), 0);
      const found = existing === undefined ? 'does not exist' : `holds master key ${existing.masterKeys.map((m) => m.id).join(', ') || 'none'}`;
      throw new AppError('integrity', `keyring ${path} ${found}, but the ${count} data key${count === 1 ? '' : 's'} of ${where} ${count === 1 ? 'was' : 'were'} wrapped by master key ${ids}: refusing to start (a new master key could not unwrap them)`, {
        hint: `point ENCLAVE_KEYRING at the keyring file (or its backup) that holds ${ids}; nothing was created or changed`,
        details: { keyringPath: path, keyringExists: existing !== undefined, wrappedBy: missing.map((m) => ({ masterKeyId: m.master_key_id, dataKeys: Number(m.n) })) },
      });
    }
    if (existing !== undefined) return { keyring: existing, created: false };
    const keyring = newKeyring();
    await writeKeyring(path, keyring);
    return { keyring, created: true };
  }

  static async open(path: string, db: Db, audit: AuditLog, loaded?: { keyring: KeyringFile; created: boolean }): Promise<KeyService> {
    const { keyring, created } = loaded ?? (await KeyService.loadKeyring(path, db));
    const svc = new KeyService(path, keyring, db, audit, created);
    await svc.recoverRotation();
    return svc;
  }

  activeMasterKeyId(): string {
    return this.activeMaster().id;
  }

  /** Ids and states of every data key: never material. */
  async listKeys(): Promise<DataKeyInfo[]> {
    const rows = await this.db.query<DataKeyRow>('SELECT * FROM data_keys ORDER BY created_at, id');
    return rows.map(toInfo);
  }

  /** Returns the active data key of a scope, creating it in the caller's audited transaction if absent. */
  async ensureDataKey(tx: AuditedTx, scope: KeyScope, scopeId: string, purpose: KeyPurpose): Promise<DataKeyInfo> {
    const found = await tx.query<DataKeyRow>(
      "SELECT * FROM data_keys WHERE scope = $1 AND scope_id = $2 AND purpose = $3 AND state = 'active'",
      [scope, scopeId, purpose],
    );
    if (found[0] !== undefined) return toInfo(found[0]);
    const id = `dk_${randomBytes(8).toString('hex')}`;
    // A rotation holds data_keys in EXCLUSIVE mode from before it reads the keys to re-wrap until
    // it commits; this lock waits for it, and the master is chosen only then, from what the
    // database says (a rotation that just committed may not have rewritten the keyring file yet).
    // Without it a key wrapped by the old master could commit after the rotation read the table,
    // and be lost when the keyring drops the old master.
    await tx.query('LOCK TABLE data_keys IN ROW EXCLUSIVE MODE');
    const master = await this.wrappingMaster(tx);
    const wrapped = wrap(masterBytes(master), randomBytes(32), aad(id, scope, scopeId, purpose));
    const rows = await tx.query<DataKeyRow>(
      'INSERT INTO data_keys (id, scope, scope_id, purpose, master_key_id, wrapped) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
      [id, scope, scopeId, purpose, master.id, wrapped],
    );
    tx.addDetails({ createdKey: id, keyScope: scope, keyScopeId: scopeId, keyPurpose: purpose });
    const row = rows[0];
    if (row === undefined) throw new AppError('internal', 'data key insert returned nothing');
    return toInfo(row);
  }

  /**
   * Lends the clear data key to `fn` and wipes the buffer when `fn` settles. The key must not
   * outlive the callback (hand it to the engine or the writer, never to storage or logs).
   */
  async withDataKey<T>(scope: KeyScope, scopeId: string, purpose: KeyPurpose, fn: (key: Buffer) => Promise<T>, q: Queryable = this.db): Promise<T> {
    const rows = await q.query<DataKeyRow>(
      "SELECT * FROM data_keys WHERE scope = $1 AND scope_id = $2 AND purpose = $3 AND state = 'active'",
      [scope, scopeId, purpose],
    );
    const row = rows[0];
    if (row === undefined || row.wrapped === null || row.master_key_id === null) {
      throw new AppError('not_found', `no active ${purpose} key for ${scope} ${scopeId}`, {
        hint: scope === 'dataset' ? 'ingest a delivery first: the key is created with the dataset' : 'the key was destroyed or never created',
      });
    }
    const master = this.keyring.masterKeys.find((m) => m.id === row.master_key_id);
    if (master === undefined) {
      throw new AppError('integrity', `data key ${row.id} is wrapped by master key ${row.master_key_id}, which the keyring does not hold`, {
        hint: `restore the keyring that was in use (see ${this.keyringPath})`,
      });
    }
    const key = unwrap(masterBytes(master), Buffer.from(row.wrapped), aad(row.id, row.scope, row.scope_id, row.purpose));
    try {
      return await fn(key);
    } finally {
      key.fill(0);
    }
  }

  /** Crypto-shredding: the wrapped material is erased, so whatever it encrypted is unreadable. */
  async destroyDataKey(tx: AuditedTx, scope: KeyScope, scopeId: string, purpose: KeyPurpose): Promise<void> {
    const rows = await tx.query<{ id: string }>(
      "UPDATE data_keys SET state = 'destroyed', wrapped = NULL, master_key_id = NULL, destroyed_at = now() WHERE scope = $1 AND scope_id = $2 AND purpose = $3 AND state = 'active' RETURNING id",
      [scope, scopeId, purpose],
    );
    if (rows[0] === undefined) throw new AppError('not_found', `no active ${purpose} key for ${scope} ${scopeId}`);
    tx.addDetails({ destroyedKey: rows[0].id });
  }

  /**
   * Master-key rotation: a new master key re-wraps every data key in one audited transaction.
   * Crash-safe in three steps: the new key is added to the keyring as `pending`, the database
   * switches in one transaction, then the keyring drops the old key. `recoverRotation` finishes
   * or undoes a rotation interrupted between the steps.
   */
  async rotateMaster(actor: Actor, requestId?: string): Promise<{ oldId: string; newId: string; rewrapped: number; notice: string }> {
    const old = this.activeMaster();
    const next = newMasterKey('pending');
    await this.saveKeyring({ ...this.keyring, masterKeys: [...this.keyring.masterKeys, next] });
    const rewrapped = await this.audit.transaction(
      { actor, action: 'keys.rotate_master', target: `master:${old.id}`, ...(requestId === undefined ? {} : { requestId }), details: { from: old.id, to: next.id } },
      async (tx) => {
        // Waits for transactions that are creating data keys to commit (so their keys are read and
        // re-wrapped below), and holds new ones back until this one commits (ensureDataKey).
        await tx.query('LOCK TABLE data_keys IN EXCLUSIVE MODE');
        const rows = await tx.query<DataKeyRow>("SELECT * FROM data_keys WHERE state = 'active' ORDER BY id FOR UPDATE");
        for (const row of rows) {
          const m = this.keyring.masterKeys.find((k) => k.id === row.master_key_id);
          if (m === undefined || row.wrapped === null) throw new AppError('integrity', `data key ${row.id} cannot be unwrapped`);
          const a = aad(row.id, row.scope, row.scope_id, row.purpose);
          const clear = unwrap(masterBytes(m), Buffer.from(row.wrapped), a);
          const rewrappedKey = wrap(masterBytes(next), clear, a);
          clear.fill(0);
          await tx.query('UPDATE data_keys SET wrapped = $1, master_key_id = $2, rewrapped_at = now() WHERE id = $3', [rewrappedKey, next.id, row.id]);
        }
        tx.addDetails({ rewrapped: rows.length });
        return rows.length;
      },
    );
    await this.saveKeyring({ ...this.keyring, masterKeys: [{ ...next, state: 'active' }] });
    // The old key is gone from the keyring: a backup taken before now holds only it, and cannot
    // open a single data key any more. Whoever rotates must hear that, and back up at once.
    const notice = `Earlier backups of the keyring hold only master key ${old.id}: they no longer open the re-wrapped data keys (nor any made from now on). ` +
      `Back up the new keyring now: ${this.keyringPath} (it holds ${next.id}).`;
    return { oldId: old.id, newId: next.id, rewrapped, notice };
  }

  private async recoverRotation(): Promise<void> {
    const pending = this.keyring.masterKeys.filter((m) => m.state === 'pending');
    if (pending.length === 0) return;
    const used = new Set(
      (await this.db.query<{ master_key_id: string }>("SELECT DISTINCT master_key_id FROM data_keys WHERE state = 'active'")).map((r) => r.master_key_id),
    );
    const promoted = pending.find((p) => used.has(p.id));
    const keep = promoted === undefined ? this.keyring.masterKeys.filter((m) => m.state === 'active') : [{ ...promoted, state: 'active' as const }];
    await this.saveKeyring({ ...this.keyring, masterKeys: keep });
  }

  /**
   * The master key new data keys are wrapped with: the one every active data key is wrapped with
   * (a committed rotation re-wrapped them all; the keyring may still call it pending for a moment),
   * or the keyring's active key while there is none. Call with data_keys locked (ensureDataKey).
   */
  private async wrappingMaster(q: Queryable): Promise<MasterKey> {
    const rows = await q.query<{ master_key_id: string }>("SELECT master_key_id FROM data_keys WHERE state = 'active' AND master_key_id IS NOT NULL LIMIT 1");
    const id = rows[0]?.master_key_id;
    if (id === undefined) return this.activeMaster();
    const m = this.keyring.masterKeys.find((k) => k.id === id);
    if (m === undefined) throw new AppError('integrity', `the data keys are wrapped by master key ${id}, which the keyring ${this.keyringPath} does not hold`, { hint: 'restore the keyring that was in use' });
    return m;
  }

  private activeMaster(): MasterKey {
    const m = this.keyring.masterKeys.find((k) => k.state === 'active');
    if (m === undefined) throw new AppError('integrity', `keyring ${this.keyringPath} has no active master key`, { hint: 'restore it from your key backup' });
    return m;
  }

  private async saveKeyring(k: KeyringFile): Promise<void> {
    await writeKeyring(this.keyringPath, k);
    this.keyring = k;
  }
}

function toInfo(r: DataKeyRow): DataKeyInfo {
  return {
    id: r.id,
    scope: r.scope,
    scopeId: r.scope_id,
    purpose: r.purpose,
    state: r.state,
    masterKeyId: r.master_key_id,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

function masterBytes(m: MasterKey): Buffer {
  return Buffer.from(m.key, 'base64');
}

/** Binds a wrapped key to its identity, so a wrapped blob moved to another row fails to unwrap. */
function aad(id: string, scope: string, scopeId: string, purpose: string): Buffer {
  return Buffer.from(`enclave-data-key/1\n${id}\n${scope}\n${scopeId}\n${purpose}`);
}

function wrap(kek: Buffer, key: Buffer, additional: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', kek, nonce);
  c.setAAD(additional);
  const ct = Buffer.concat([c.update(key), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]);
}

function unwrap(kek: Buffer, blob: Buffer, additional: Buffer): Buffer {
  const nonce = blob.subarray(0, NONCE_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const ct = blob.subarray(NONCE_BYTES, blob.length - TAG_BYTES);
  const d = createDecipheriv('aes-256-gcm', kek, nonce);
  d.setAAD(additional);
  d.setAuthTag(tag);
  try {
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    throw new AppError('integrity', 'a data key failed to unwrap: wrong master key or tampered key material', {
      hint: 'check that the keyring matches this database',
    });
  }
}
