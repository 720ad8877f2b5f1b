import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTestDb } from '../../test/helpers/db.ts';
import { loadAuditSigningKey } from './audit-signing-key.ts';
import { KeyService } from './key-service.ts';
import { readKeyring, writeKeyring } from './keyring.ts';

const pub = (k: Parameters<typeof createPublicKey>[0]): string => createPublicKey(k).export({ format: 'jwk' }).x ?? '';

test('the audit signing key and the master key are separate secrets in separate 0600 files: neither file holds the other', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-akey-'));
  try {
    const keyringPath = join(dir, 'keyring.json');
    const auditPath = join(dir, 'audit-signing-key.json');
    const a = await loadAuditSigningKey(auditPath, keyringPath);
    assert.equal(a.created, 'new');
    const t = await openTestDb();
    const { keyring } = await KeyService.loadKeyring(keyringPath, t.db).finally(() => t.drop());
    const ring = await readFile(keyringPath, 'utf8');
    const audit = await readFile(auditPath, 'utf8');
    assert.equal(keyring.auditSigningKey, undefined);
    assert.doesNotMatch(ring, /auditSigningKey|pkcs8/);
    for (const m of keyring.masterKeys) assert.ok(!audit.includes(m.key), 'the audit key file holds a master key');
    assert.equal((await stat(auditPath)).mode & 0o777, 0o600);
    assert.equal((await stat(keyringPath)).mode & 0o777, 0o600);
    // Loaded again: the same key.
    const again = await loadAuditSigningKey(auditPath, keyringPath);
    assert.equal(again.created, false);
    assert.equal(pub(again.key), pub(a.key));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a keyring from before the split hands its audit key over: same key, moved to its own file, gone from the keyring, master keys kept', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-akey-'));
  try {
    const keyringPath = join(dir, 'keyring.json');
    const legacy = generateKeyPairSync('ed25519').privateKey;
    const old = { format: 'enclave-keyring/1', masterKeys: [{ id: 'mk_1', key: Buffer.alloc(32, 7).toString('base64'), createdAt: '2026-01-01T00:00:00.000Z', state: 'active' }], auditSigningKey: legacy.export({ format: 'der', type: 'pkcs8' }).toString('base64') };
    await writeFile(keyringPath, JSON.stringify(old), { mode: 0o600 });
    const r = await loadAuditSigningKey(join(dir, 'audit-signing-key.json'), keyringPath);
    assert.equal(r.created, 'moved');
    assert.equal(pub(r.key), pub(legacy));
    const after = await readKeyring(keyringPath);
    assert.equal(after?.auditSigningKey, undefined);
    assert.deepEqual(after?.masterKeys, old.masterKeys);
    // Writing a keyring (a rotation) never puts the audit key back.
    await writeKeyring(keyringPath, { ...old, format: 'enclave-keyring/1', masterKeys: old.masterKeys as never });
    assert.doesNotMatch(await readFile(keyringPath, 'utf8'), /auditSigningKey/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an audit key file readable by others is refused with the fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-akey-'));
  try {
    const p = join(dir, 'audit-signing-key.json');
    await loadAuditSigningKey(p, join(dir, 'keyring.json'));
    const { chmod } = await import('node:fs/promises');
    await chmod(p, 0o644);
    await assert.rejects(loadAuditSigningKey(p, join(dir, 'keyring.json')), (e: Error & { code?: string; hint?: string }) => e.code === 'forbidden' && (e.hint ?? '').includes('chmod 600'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
