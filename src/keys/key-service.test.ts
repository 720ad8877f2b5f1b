import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { AuditLog, generateLogKey } from '../audit/index.ts';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { KeyService } from './index.ts';
import { newKeyring, readKeyring, writeKeyring, type KeyringFile } from './keyring.ts';
import { AppError } from '../errors.ts';

const actor = { kind: 'person', id: 'test:operator' } as const;
let t: TestDb;
let dir: string;
let audit: AuditLog;

before(async () => {
  t = await openTestDb();
  dir = await mkdtemp(join(tmpdir(), 'enclave-keys-'));
  audit = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
});
// One keyring per database, as in production: each test starts with no data key, so that its
// own keyring is the one this database's keys were made with.
beforeEach(async () => {
  await t.db.query('DELETE FROM data_keys');
});
after(async () => {
  await t.drop();
  await rm(dir, { recursive: true, force: true });
});

test(`first start creates the keyring with mode 0600 and one active master key (${testDbKind})`, async () => {
  const path = join(dir, 'a', 'keyring.json');
  const keys = await KeyService.open(path, t.db, audit);
  assert.equal(keys.created, true);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o700);
  const ring = await readKeyring(path);
  assert.equal(ring?.masterKeys.filter((m) => m.state === 'active').length, 1);
  const again = await KeyService.open(path, t.db, audit);
  assert.equal(again.created, false);
  assert.equal(again.activeMasterKeyId(), keys.activeMasterKeyId());
});

test('a keyring readable by others is refused with the chmod fix', async () => {
  const path = join(dir, 'loose', 'keyring.json');
  await KeyService.open(path, t.db, audit);
  await chmod(path, 0o644);
  await assert.rejects(KeyService.open(path, t.db, audit), /readable by other users.*|chmod 600/);
});

test('data keys are created once per scope and purpose, audited, stored wrapped only', async () => {
  const keys = await KeyService.open(join(dir, 'b', 'keyring.json'), t.db, audit);
  const a = await audit.transaction({ actor, action: 'test.create_key', target: 'dataset:d1' }, (tx) => keys.ensureDataKey(tx, 'dataset', 'd1', 'encryption'));
  const b = await audit.transaction({ actor, action: 'test.create_key', target: 'dataset:d1' }, (tx) => keys.ensureDataKey(tx, 'dataset', 'd1', 'encryption'));
  assert.equal(a.id, b.id);
  const clear = await keys.withDataKey('dataset', 'd1', 'encryption', async (k) => Buffer.from(k));
  assert.equal(clear.length, 32);
  const rows = await t.db.query<{ wrapped: Uint8Array }>('SELECT wrapped FROM data_keys WHERE id = $1', [a.id]);
  assert.ok(!Buffer.from(rows[0]!.wrapped).includes(clear), 'the clear key is not in the database');
  const events = await t.db.query<{ details: { createdKey?: string } }>("SELECT details FROM audit_events WHERE action = 'test.create_key' ORDER BY seq");
  assert.equal(events[0]?.details.createdKey, a.id);
  // The lent buffer is wiped once the callback returns.
  let lent: Buffer | undefined;
  await keys.withDataKey('dataset', 'd1', 'encryption', async (k) => { lent = k; });
  assert.ok(lent !== undefined && lent.every((x) => x === 0));
});

test('a wrapped key moved to another row does not unwrap', async () => {
  const keys = await KeyService.open(join(dir, 'c', 'keyring.json'), t.db, audit);
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, async (tx) => {
    await keys.ensureDataKey(tx, 'dataset', 'c1', 'encryption');
    await keys.ensureDataKey(tx, 'dataset', 'c2', 'encryption');
  });
  await t.db.query("UPDATE data_keys SET wrapped = (SELECT wrapped FROM data_keys WHERE scope_id = 'c1') WHERE scope_id = 'c2'");
  await assert.rejects(keys.withDataKey('dataset', 'c2', 'encryption', async () => undefined), /failed to unwrap/);
});

test('master-key rotation re-wraps every data key; the same clear keys come back', async () => {
  const path = join(dir, 'd', 'keyring.json');
  const keys = await KeyService.open(path, t.db, audit);
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, async (tx) => {
    await keys.ensureDataKey(tx, 'dataset', 'd-rot', 'encryption');
    await keys.ensureDataKey(tx, 'project', 'p-rot', 'pseudonymisation');
  });
  const before1 = await keys.withDataKey('dataset', 'd-rot', 'encryption', async (k) => Buffer.from(k));
  const r = await keys.rotateMaster(actor);
  assert.ok(r.rewrapped >= 2);
  assert.notEqual(r.oldId, r.newId);
  const ring = await readKeyring(path);
  assert.deepEqual(ring?.masterKeys.map((m) => [m.id, m.state]), [[r.newId, 'active']]);
  assert.deepEqual(await keys.withDataKey('dataset', 'd-rot', 'encryption', async (k) => Buffer.from(k)), before1);
  const ev = await t.db.query<{ outcome: string }>("SELECT outcome FROM audit_events WHERE action = 'keys.rotate_master'");
  assert.ok(ev.some((e) => e.outcome === 'success'));
});

test('rotation says that earlier keyring backups no longer open the wraps, and to back up the new keyring', async () => {
  const path = join(dir, 'backup', 'keyring.json');
  const keys = await KeyService.open(path, t.db, audit);
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, (tx) => keys.ensureDataKey(tx, 'dataset', 'b-rot', 'encryption'));
  const backup = await readFile(path, 'utf8');
  const r = await keys.rotateMaster(actor);
  assert.match(r.notice, new RegExp(`Earlier backups of the keyring hold only master key ${r.oldId}: they no longer open the re-wrapped data keys`));
  assert.ok(r.notice.includes(`Back up the new keyring now: ${path} (it holds ${r.newId})`), r.notice);
  // And it is true: the backup taken before the rotation is refused for this database.
  const old = join(dir, 'backup-old', 'keyring.json');
  await writeKeyring(old, JSON.parse(backup) as KeyringFile);
  await assert.rejects(KeyService.loadKeyring(old, t.db), new RegExp(`holds master key ${r.oldId}, but the 1 data key of this data directory was wrapped by master key ${r.newId}`));
});

test(`a keyring path with no file is refused when the database has wrapped keys, and nothing is created (${testDbKind})`, async () => {
  const right = join(dir, 'right', 'keyring.json');
  const keys = await KeyService.open(right, t.db, audit);
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, (tx) => keys.ensureDataKey(tx, 'dataset', 'w1', 'encryption'));
  const wrong = join(dir, 'typo', 'keyring.json');
  await assert.rejects(KeyService.open(wrong, t.db, audit), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'integrity');
    assert.equal(e.message, `keyring ${wrong} does not exist, but the 1 data key of this data directory was wrapped by master key ${keys.activeMasterKeyId()}: refusing to start (a new master key could not unwrap them)`);
    assert.match(e.hint ?? '', new RegExp(`point ENCLAVE_KEYRING at the keyring file \\(or its backup\\) that holds ${keys.activeMasterKeyId()}; nothing was created`));
    return true;
  });
  await assert.rejects(stat(join(dir, 'typo')), { code: 'ENOENT' }, 'no keyring and no folder were created');
});

test(`another project's keyring is refused for this database, naming both master keys (${testDbKind})`, async () => {
  const keys = await KeyService.open(join(dir, 'mine', 'keyring.json'), t.db, audit);
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, async (tx) => {
    await keys.ensureDataKey(tx, 'dataset', 'o1', 'encryption');
    await keys.ensureDataKey(tx, 'project', 'o2', 'pseudonymisation');
  });
  const other = join(dir, 'other', 'keyring.json');
  const ring = newKeyring();
  await writeKeyring(other, ring);
  const before = await readFile(other, 'utf8');
  await assert.rejects(KeyService.open(other, t.db, audit), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.match(e.message, new RegExp(`keyring ${other} holds master key ${ring.masterKeys[0]!.id}, but the 2 data keys of this data directory were wrapped by master key ${keys.activeMasterKeyId()}`));
    return true;
  });
  assert.equal(await readFile(other, 'utf8'), before, 'the wrong keyring is left as it was');
});

test('a new keyring is created only while the database holds no wrapped data key (destroyed keys do not count)', async () => {
  const keys = await KeyService.open(join(dir, 'shred', 'keyring.json'), t.db, audit);
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, (tx) => keys.ensureDataKey(tx, 'project', 'shredded', 'encryption'));
  await audit.transaction({ actor, action: 'keys.destroy', target: 'project:shredded' }, (tx) => keys.destroyDataKey(tx, 'project', 'shredded', 'encryption'));
  const fresh = await KeyService.open(join(dir, 'fresh', 'keyring.json'), t.db, audit);
  assert.equal(fresh.created, true);
});

test('a rotation interrupted after the keyring gained its pending key is undone at next start', async () => {
  const path = join(dir, 'e', 'keyring.json');
  const keys = await KeyService.open(path, t.db, audit);
  const ring = await readKeyring(path);
  const { newMasterKey } = await import('./keyring.ts');
  await writeKeyring(path, { ...ring!, masterKeys: [...ring!.masterKeys, newMasterKey('pending')] });
  const reopened = await KeyService.open(path, t.db, audit);
  assert.equal(reopened.activeMasterKeyId(), keys.activeMasterKeyId());
  assert.deepEqual((await readKeyring(path))?.masterKeys.map((m) => m.state), ['active']);
  assert.ok(!(await readFile(path, 'utf8')).includes('pending'));
});

test('destroying a data key makes it unusable and keeps its id for the audit trail', async () => {
  const keys = await KeyService.open(join(dir, 'f', 'keyring.json'), t.db, audit);
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, (tx) => keys.ensureDataKey(tx, 'project', 'gone', 'encryption'));
  await audit.transaction({ actor, action: 'keys.destroy', target: 'project:gone' }, (tx) => keys.destroyDataKey(tx, 'project', 'gone', 'encryption'));
  await assert.rejects(keys.withDataKey('project', 'gone', 'encryption', async () => undefined), /no active encryption key/);
  const listed = (await keys.listKeys()).find((k) => k.scopeId === 'gone');
  assert.equal(listed?.state, 'destroyed');
});

test(`a data key created while a rotation runs is re-wrapped, never lost with the old master (${testDbKind})`, { skip: testDbKind === 'pglite' ? 'PGlite runs one transaction at a time: the race needs two connections (runs on the PostgreSQL pass)' : false }, async () => {
  const path = join(dir, 'race', 'keyring.json');
  const keys = await KeyService.open(path, t.db, audit);
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, (tx) => keys.ensureDataKey(tx, 'dataset', 'race-1', 'encryption'));
  // A transaction creates a key and stays open while the rotation starts.
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  let created!: () => void;
  const inserted = new Promise<void>((r) => { created = r; });
  const creating = audit.transaction({ actor, action: 'test.create_key', target: 'x' }, async (tx) => {
    await keys.ensureDataKey(tx, 'dataset', 'race-2', 'encryption');
    created();
    await held;
  });
  await inserted;
  const rotating = keys.rotateMaster(actor);
  // The rotation waits for the open transaction's lock (seen in pg_locks), then the transaction commits.
  for (let i = 0; i < 200; i++) {
    const waiting = await t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'data_keys' AND NOT l.granted");
    if (waiting[0]?.n !== '0') break;
    await new Promise((r) => setTimeout(r, 25));
  }
  release();
  await creating;
  const r = await rotating;
  assert.equal(r.rewrapped, 2, 'both keys re-wrapped, the one committed during the rotation included');
  const wraps = await t.db.query<{ master_key_id: string }>("SELECT DISTINCT master_key_id FROM data_keys WHERE state = 'active'");
  assert.deepEqual(wraps.map((w) => w.master_key_id), [r.newId]);
  const ring = await readKeyring(path);
  assert.deepEqual(ring?.masterKeys.map((m) => m.id), [r.newId]);
  // A key created after the rotation is wrapped by the new master too, and every key unwraps.
  await audit.transaction({ actor, action: 'test.create_key', target: 'x' }, (tx) => keys.ensureDataKey(tx, 'dataset', 'race-3', 'encryption'));
  for (const id of ['race-1', 'race-2', 'race-3']) assert.equal((await keys.withDataKey('dataset', id, 'encryption', async (k) => Buffer.from(k))).length, 32);
});
