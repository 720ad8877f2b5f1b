import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AuditLog, generateLogKey } from '../audit/index.ts';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { KeyService } from './index.ts';
import { readKeyring, writeKeyring } from './keyring.ts';

const actor = { kind: 'person', id: 'test:operator' } as const;
let t: TestDb;
let dir: string;
let audit: AuditLog;

before(async () => {
  t = await openTestDb();
  dir = await mkdtemp(join(tmpdir(), 'enclave-keys-'));
  audit = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
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
  // One keyring per database, as in production: the earlier tests' keyrings are gone.
  await t.db.query('DELETE FROM data_keys');
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
