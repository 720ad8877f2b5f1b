import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openTestDb, testDbKind, type TestDb } from '../../../test/helpers/db.ts';
import { startS3Server, type S3Server } from '../../../test/helpers/s3.ts';

// The real `enclave` binary as a child process, on a data directory of its own, against s3rver
// (npm dev dependency) as a real S3-protocol server on loopback.
const ROOT = new URL('../../../', import.meta.url).pathname;
let dir: string;
let s3: S3Server;
let pg: TestDb | undefined;

interface Ran { readonly code: number | null; readonly stdout: string; readonly stderr: string }

function enclave(...args: string[]): Promise<Ran> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'], HOME: dir, ENCLAVE_DATA_DIR: join(dir, 'data'), ENCLAVE_KEYRING: join(dir, 'keyring', 'keyring.json'),
    ENCLAVE_S3_ENDPOINT: s3.endpoint, ENCLAVE_S3_BUCKET: 'cli-target', ENCLAVE_S3_ACCESS_KEY_ID: 'S3RVER', ENCLAVE_S3_SECRET_ACCESS_KEY: 'S3RVER',
    ...(pg?.url === undefined ? {} : { DATABASE_URL: pg.url }),
  };
  return new Promise((resolve, reject) => {
    const c = spawn(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'bin/enclave.js'), ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.once('error', reject);
    c.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const field = (name: string, type: string, extra: object = {}) => ({ name, type, constraints: { required: true, ...extra } });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enclave-cli-migrate-'));
  s3 = await startS3Server(['cli-target']);
  pg = testDbKind === 'postgres' ? await openTestDb() : undefined;
  const schema = join(dir, 'schema');
  const delivery = join(dir, 'delivery');
  await mkdir(schema, { recursive: true });
  await mkdir(delivery, { recursive: true });
  await writeFile(join(schema, 'ER_PRS_F.json'), JSON.stringify({
    name: 'ER_PRS_F', title: 'acts', primaryKey: [], enclave: { yearColumn: 'EXE_SOI_DTD' },
    fields: [field('BEN_NIR_PSA', 'string', { pattern: '^[0-9A-Z]{17}$' }), field('EXE_SOI_DTD', 'date'), field('PRS_PAI_MNT', 'number')],
  }));
  const rows = Array.from({ length: 600 }, (_, i) => `P${String(i % 50).padStart(16, '0')};${2020 + (i % 3)}-0${1 + (i % 9)}-1${i % 10};${(i % 1000) / 10}`);
  await writeFile(join(delivery, 'ER_PRS_F.csv'), ['BEN_NIR_PSA;EXE_SOI_DTD;PRS_PAI_MNT', ...rows].join('\n') + '\n');
  const imported = await enclave('catalog', 'import', '--dataset', 'demo', schema);
  assert.equal(imported.code, 0, imported.stderr);
  const ingested = await enclave('ingest', '--dataset', 'demo', delivery);
  assert.equal(ingested.code, 0, ingested.stderr);
});
after(async () => {
  await s3.close();
  await pg?.drop();
  await rm(dir, { recursive: true, force: true });
});

test(`enclave migrate plan, run, verify, mirror, cutover and rollback through the real binary, with clear errors out of order (${testDbKind})`, async () => {
  const unknown = await enclave('migrate', 'verify', 'mig_nope');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: no migration plan mig_nope\nhint: make one with: enclave migrate plan --from local --to s3\n$/);

  const noStore = await enclave('migrate', 'plan', '--from', 'local', '--to', 'nowhere');
  assert.equal(noStore.code, 1);
  assert.match(noStore.stderr, /error: no store named "nowhere"\nhint: known stores: local, s3/);

  const plan = await enclave('migrate', 'plan', '--from', 'local', '--to', 's3');
  assert.equal(plan.code, 0, plan.stderr);
  const id = /^plan (mig_\w+): local:\S+ → s3:http:\/\/127\.0\.0\.1:\d+\/cli-target$/m.exec(plan.stdout)?.[1];
  assert.ok(id !== undefined, plan.stdout);
  assert.match(plan.stdout, /^dataset\s+version\s+files\s+bytes\s+merkle root$/m);
  assert.match(plan.stdout, /^demo\s+1\s+5\s+[\d,]+\s+[0-9a-f]{16}…$/m);
  assert.match(plan.stdout, /^target reachable and writable\s+yes\s+s3:/m);
  assert.match(plan.stdout, new RegExp(`Next: enclave migrate run ${id}`));

  const early = await enclave('migrate', 'verify', id);
  assert.equal(early.code, 1);
  assert.match(early.stderr, new RegExp(`error: plan ${id} has not been run: there is nothing in the target to verify yet\nhint: run it first: enclave migrate run ${id}`));
  const unverified = await enclave('migrate', 'cutover', id);
  assert.equal(unverified.code, 1);
  assert.match(unverified.stderr, new RegExp(`error: dataset demo has not passed verification for plan ${id}\nhint: run: enclave migrate verify ${id}`));
  const badCap = await enclave('migrate', 'run', id, '--max-bandwidth', 'fast');
  assert.equal(badCap.code, 1);
  assert.match(badCap.stderr, /error: bandwidth "fast" is not a size per second\nhint: e\.g\. --max-bandwidth 200MB/);

  const run = await enclave('migrate', 'run', id, '--concurrency', '2');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^copied \d+ files \(.+\), 0 found complete, 0 already journaled, in [\d.]+ s$/m);
  const again = await enclave('migrate', 'run', id);
  assert.match(again.stdout, /^copied 0 files .*, 0 found complete, \d+ already journaled/m);

  const verify = await enclave('migrate', 'verify', id);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /^table\s+year\s+rows \(manifest\)\s+rows \(source\)\s+rows \(target\)\s+fingerprint\s+ok$/m);
  assert.match(verify.stdout, /^ER_PRS_F\s+2020\s+200\s+200\s+200\s+equal\s+yes$/m);
  assert.match(verify.stdout, /^verify green: \d+ files .*, 3 partitions reconciled/m);

  const mirror = await enclave('migrate', 'mirror', id);
  assert.equal(mirror.code, 0, mirror.stderr);
  assert.match(mirror.stdout, /^demo\s+ER_PRS_F totals\s+\S+\s+\S+\s+yes$/m);

  const cutover = await enclave('migrate', 'cutover', id);
  assert.equal(cutover.code, 0, cutover.stderr);
  assert.match(cutover.stdout, /^Enclave migration report \(cutover\)$/m);
  assert.match(cutover.stdout, /^demo active on s3:/m);
  assert.match(cutover.stdout, /^— \S+ /m, 'a signed note');
  assert.match(cutover.stdout, /recorded in the audit log \(migrate\.report\)/);
  const twice = await enclave('migrate', 'cutover', id);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /error: dataset demo is active on s3, not on local\nhint: it was already switched/);

  const rollback = await enclave('migrate', 'rollback', id);
  assert.equal(rollback.code, 0, rollback.stderr);
  assert.match(rollback.stdout, /^Enclave migration report \(rollback\)$/m);
  assert.match(rollback.stdout, /^demo active on local:/m);
});

test(`enclave datasets manifest --dataset-version prints that version; a changed source or a target file deleted after verify is named with exit 1, never an internal error (${testDbKind})`, async () => {
  const m = await enclave('datasets', 'manifest', 'demo', '--dataset-version', '1');
  assert.equal(m.code, 0, m.stderr);
  const manifest = JSON.parse(m.stdout) as { dataset: string; version: number; files: Array<{ path: string }> };
  assert.equal(manifest.dataset, 'demo');
  assert.equal(manifest.version, 1);
  const bad = await enclave('datasets', 'manifest', 'demo', '--dataset-version', 'one');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--dataset-version/);

  const plan = await enclave('migrate', 'plan', '--from', 'local', '--to', 's3');
  assert.equal(plan.code, 0, plan.stderr);
  const [, id, root] = /^plan (mig_\w+): local:(\S+) → /m.exec(plan.stdout) ?? [];
  assert.ok(id !== undefined && root !== undefined, plan.stdout);
  assert.equal((await enclave('migrate', 'run', id)).code, 0);
  assert.equal((await enclave('migrate', 'verify', id)).code, 0);
  const rel = (await readdir(join(root, 'datasets', 'demo'), { recursive: true })).find((f) => f.endsWith('.parquet') && f.includes('year=2021'));
  assert.ok(rel !== undefined);
  const key = `datasets/demo/${rel}`;

  const original = await readFile(join(root, key));
  const changed = Buffer.from(original);
  changed[100] = (changed[100] ?? 0) ^ 1;
  await writeFile(join(root, key), changed);
  try {
    const v = await enclave('migrate', 'verify', id);
    assert.equal(v.code, 1);
    assert.ok(v.stderr.includes(`the first: ${key}: source SHA-256`), v.stderr);
    assert.doesNotMatch(v.stderr, /internal/);
  } finally {
    await writeFile(join(root, key), original);
  }
  assert.equal((await enclave('migrate', 'verify', id)).code, 0);
  await s3.store('cli-target').remove(key);
  const cut = await enclave('migrate', 'cutover', id);
  assert.equal(cut.code, 1);
  assert.ok(cut.stderr.includes(`${key}: missing in s3:`) && /refused/.test(cut.stderr), cut.stderr);
  const audit = await enclave('audit', 'export');
  assert.equal(audit.code, 0, audit.stderr);
  const refused = audit.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event: { action: string; outcome: string; details: Record<string, unknown> } }).event).filter((e) => e.action === 'migrate.cutover' && e.outcome === 'failure');
  assert.ok(refused.some((e) => String(e.details['reason']).includes(key)), 'the refused cutover is in the audit log');
});
