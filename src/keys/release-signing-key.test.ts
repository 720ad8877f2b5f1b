import assert from 'node:assert/strict';
import { sign, verify, createPublicKey } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../errors.ts';
import { loadReleaseSigningKey } from './release-signing-key.ts';

describe('release signing key', () => {
  let dir = '';
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'enclave-release-key-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('created once (mode 0600), then the same key: its published form opens its signatures', async () => {
    const path = join(dir, 'keys', 'release-signing-key.json');
    const first = await loadReleaseSigningKey(path);
    assert.equal(first.created, true);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const again = await loadReleaseSigningKey(path);
    assert.equal(again.created, false);
    assert.equal(again.publicKey, first.publicKey);
    assert.match(first.publicKey, /^ed25519:[A-Za-z0-9+/]{43}=$/);
    assert.match(first.keyId, /^[0-9a-f]{16}$/);
    const raw = Buffer.from(first.publicKey.slice('ed25519:'.length), 'base64');
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
    assert.ok(verify(null, Buffer.from('m'), pub, sign(null, Buffer.from('m'), again.privateKey)));
    assert.ok(!(await readFile(path, 'utf8')).includes(first.publicKey.slice(8)), 'the file holds the private key (PKCS#8), the public key is derived');
  });

  test('a key file readable by others, or not a key file, is refused with how to fix it', async () => {
    const open = join(dir, 'open.json');
    await loadReleaseSigningKey(open);
    await chmod(open, 0o644);
    await assert.rejects(loadReleaseSigningKey(open), (e: unknown) => e instanceof AppError && e.code === 'forbidden' && e.hint === `restrict it with: chmod 600 ${open}`);
    const junk = join(dir, 'junk.json');
    await writeFile(junk, '{"format": "other"}', { mode: 0o600 });
    await assert.rejects(loadReleaseSigningKey(junk), (e: unknown) => e instanceof AppError && e.code === 'invalid' && /not an enclave-release-signing-key\/1 file/.test(e.message));
  });
});
