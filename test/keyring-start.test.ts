/**
 * Issue 11, item 8: the real `enclave` binary on a data directory whose data keys were made with
 * one keyring. A wrong ENCLAVE_KEYRING (a typo, another machine's file) is refused at start with
 * the path, the master key id the data needs and the fix, and nothing is created; the right one
 * works, and `keys rotate-master` says that earlier keyring backups no longer open the wraps.
 * On the PostgreSQL pass the binary is given DATABASE_URL of a fresh test database.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { readKeyring } from '../src/keys/index.ts';
import { createPlatform } from '../src/main.ts';
import { openTestDb, testDbKind, type TestDb } from './helpers/db.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const BIN = join(ROOT, 'bin', 'enclave.js');

interface Run { readonly code: number | null; readonly out: string; readonly err: string }

describe(`enclave start with the wrong keyring (${testDbKind})`, () => {
  let dir: string;
  let t: TestDb | undefined;
  let env: Record<string, string>;
  let master: string;

  const run = (args: readonly string[], keyring: string): Promise<Run> => new Promise((resolve, reject) => {
    const child = spawn(NODE, [BIN, ...args], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env, ENCLAVE_KEYRING: keyring }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString('utf8'); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-keyring-start-'));
    t = testDbKind === 'postgres' ? await openTestDb({ migrated: false }) : undefined;
    env = { ENCLAVE_DATA_DIR: join(dir, 'data'), ENCLAVE_ENGINE_THREADS: '1', ...(t?.url === undefined ? {} : { DATABASE_URL: t.url }) };
    // First start with the right keyring; one data key made, as an ingestion would.
    const p = await createPlatform(loadConfig({ ...env, ENCLAVE_KEYRING: join(dir, 'keys', 'keyring.json') }), { kind: 'service', id: 'test' });
    try {
      await p.audit.transaction({ actor: p.actor, action: 'test.create_key', target: 'dataset:d' }, (tx) => p.keys.ensureDataKey(tx, 'dataset', 'd', 'encryption'));
      master = p.keys.activeMasterKeyId();
    } finally {
      await p.close();
    }
  });
  after(async () => {
    await t?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a keyring path where no file exists is refused naming the path, the master key the data needs and the fix; no keyring is created', async () => {
    const wrong = join(dir, 'keyz', 'keyring.json');
    const r = await run(['keys', 'ls'], wrong);
    assert.notEqual(r.code, 0);
    assert.match(r.err, new RegExp(`error: keyring ${wrong} does not exist, but the 1 data key of .* was wrapped by master key ${master}: refusing to start`));
    assert.match(r.err, new RegExp(`hint: point ENCLAVE_KEYRING at the keyring file \\(or its backup\\) that holds ${master}`));
    assert.equal(existsSync(join(dir, 'keyz')), false, 'nothing created');
  });

  test('another keyring file is refused and left unchanged', async () => {
    const other = join(dir, 'other', 'keyring.json');
    // A keyring made for an empty database elsewhere.
    const o = await openTestDb();
    try {
      const p = await createPlatform(loadConfig({ ENCLAVE_DATA_DIR: join(dir, 'other-data'), ENCLAVE_KEYRING: other, ENCLAVE_ENGINE_THREADS: '1', ...(o.url === undefined ? {} : { DATABASE_URL: o.url }) }), { kind: 'service', id: 'test' });
      await p.close();
    } finally {
      await o.drop();
    }
    const before = await readFile(other, 'utf8');
    const r = await run(['keys', 'ls'], other);
    assert.notEqual(r.code, 0);
    assert.match(r.err, new RegExp(`keyring ${other} holds master key mk_[0-9a-f]+, but the 1 data key .* wrapped by master key ${master}`));
    assert.equal(await readFile(other, 'utf8'), before);
  });

  test('the right keyring opens, and rotate-master says to back up the new keyring because earlier backups no longer open the wraps', async () => {
    const right = join(dir, 'keys', 'keyring.json');
    const ls = await run(['keys', 'ls'], right);
    assert.equal(ls.code, 0, ls.err);
    assert.match(ls.out, new RegExp(`master key ${master}`));
    const r = await run(['keys', 'rotate-master'], right);
    assert.equal(r.code, 0, r.err);
    const now = (await readKeyring(right))?.masterKeys[0]?.id ?? '';
    assert.match(r.out, new RegExp(`master key rotated: ${master} → ${now}; 1 data keys re-wrapped`));
    assert.match(r.out, new RegExp(`Earlier backups of the keyring hold only master key ${master}: they no longer open the re-wrapped data keys`));
    assert.ok(r.out.includes(`Back up the new keyring now: ${right} (it holds ${now})`), r.out);
  });
});
