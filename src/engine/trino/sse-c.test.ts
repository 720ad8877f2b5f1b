/**
 * Nothing decrypted at rest on shared storage, on Trino (docs/encryption-at-rest-trino.md): the
 * object store encrypts with SSE-C keys derived from Enclave's keys.
 *
 * The store is s3rver behind a test-only front that enforces SSE-C as S3 documents it
 * (test/helpers/sse-c-s3.ts): the first part checks the front itself with the AWS SDK (ciphertext
 * at rest, ranged reads, missing and wrong keys refused); the second part runs a real Trino
 * (native S3 file system, `s3.sse.type=CUSTOMER`) on it: a dataset version uploaded by the
 * Trino dataset copy with the dataset's SSE-C key, registered in the dataset's own catalog
 * (created at run time), read by Trino with DuckDB's answers; Trino's own writes encrypted too;
 * a catalog with another key reads nothing; a dropped catalog reads nothing.
 *
 * The Trino part needs ENCLAVE_TRINO_URL and ENCLAVE_TRINO_RULES_FILE, and a coordinator with
 * `catalog.management=dynamic` (scripts/trino.sh); skipped with the reason printed otherwise.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startS3Server, type S3Server } from '../../../test/helpers/s3.ts';
import { startSseCFront, type SseCFront } from '../../../test/helpers/sse-c-s3.ts';
import { copyQueryToEncryptedParquet } from '../../parquet-crypto/index.ts';
import { openDuckDb } from '../duckdb.ts';
import type { Engine } from '../port.ts';
import { trinoReachable, trinoTarget } from '../spec/trino-fixture.ts';
import { createS3CatalogSql, dropCatalog, ensureS3Catalog, sseCHeaders, trinoCatalogs, type TrinoS3Store } from './catalogs.ts';
import { TrinoClient, TrinoQueryError } from './client.ts';
import { datasetCatalog, datasetSseCKey, openTrinoDatasetCopy } from './dataset-copy.ts';
import { datasetSchema } from './extract-compile.ts';
import { openTrinoWorkspaceEngine, projectCatalog, workspaceSchema } from './engine.ts';
import { openTrinoExtractBuilder } from './extract.ts';
import type { PlanTable } from '../extract-port.ts';
import type { StatementResult } from '../workspace-port.ts';
import { defaultLimits } from '../spec/fixture.ts';
import { ADMIN_USER } from './rules.ts';

const BUCKET = 'enclave-trino';
const MARKER = 'ZQX-KNOWN-VALUE';

/** Every file s3rver keeps, with its bytes. */
async function atRest(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.push({ path: p.slice(dir.length + 1), bytes: await readFile(p) });
  }
  return out;
}

/** The objects' bodies at rest (s3rver keeps each as `<key>._S3rver_object`, metadata beside). */
async function bodiesAtRest(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  return (await atRest(dir)).filter((f) => f.path.endsWith('._S3rver_object'));
}

function sdk(endpoint: string): S3Client {
  return new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const keyed = (key: Buffer) => {
  const h = sseCHeaders(key);
  return { SSECustomerAlgorithm: 'AES256', SSECustomerKey: h.key, SSECustomerKeyMD5: h.md5 } as const;
};

async function status(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
    return { status: 200, code: '' };
  } catch (e) {
    const x = e as { $metadata?: { httpStatusCode?: number }; name?: string; Code?: string };
    return { status: x.$metadata?.httpStatusCode ?? 0, code: x.Code ?? x.name ?? '' };
  }
}

describe('the SSE-C front before s3rver', () => {
  let s3: S3Server;
  let front: SseCFront;
  let c: S3Client;
  before(async () => {
    s3 = await startS3Server([BUCKET]);
    front = await startSseCFront(s3.endpoint);
    c = sdk(front.endpoint);
  });
  after(async () => {
    c?.destroy();
    await front?.close();
    await s3?.close();
  });

  test('stores ciphertext, reads back and by ranges with the key, refuses a missing, malformed or wrong key', async () => {
    const key = randomBytes(32);
    const body = Buffer.from(`PAR1${MARKER}`.repeat(5000));
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a/b.parquet', Body: body, ...keyed(key) }));
    const stored = await bodiesAtRest(s3.dir);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.bytes.length, body.length);
    assert.equal(stored[0]?.bytes.includes('PAR1'), false, 'no Parquet magic at rest');
    assert.equal(stored[0]?.bytes.includes(MARKER), false, 'no known value at rest');
    const back = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/b.parquet', ...keyed(key) }));
    assert.ok(Buffer.from(await back.Body?.transformToByteArray() ?? []).equals(body));
    for (const [from, to] of [[0, 9], [17, 17], [1000, 40_003], [body.length - 7, body.length - 1]] as const) {
      const r = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/b.parquet', Range: `bytes=${from}-${to}`, ...keyed(key) }));
      assert.ok(Buffer.from(await r.Body?.transformToByteArray() ?? []).equals(body.subarray(from, to + 1)), `bytes ${from}-${to}`);
    }
    const head = await c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'a/b.parquet', ...keyed(key) }));
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.SSECustomerAlgorithm, 'AES256');

    assert.deepEqual(await status(c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/b.parquet' }))), { status: 400, code: 'InvalidRequest' });
    assert.deepEqual(await status(c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/b.parquet', ...keyed(randomBytes(32)) }))), { status: 403, code: 'AccessDenied' });
    assert.equal((await status(c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'a/b.parquet', ...keyed(randomBytes(32)) })))).status, 403);
    assert.deepEqual(await status(c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a/plain', Body: 'x' }))), { status: 400, code: 'InvalidRequest' });
    // The SDK computes the key's MD5 itself: a request with another MD5 is sent by hand.
    const bad = await fetch(`${front.endpoint}/${BUCKET}/a/bad`, {
      method: 'PUT', body: 'x',
      headers: { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': key.toString('base64'), 'x-amz-server-side-encryption-customer-key-MD5': createHash('md5').update('other').digest('base64') },
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /<Code>InvalidArgument<\/Code>/);
    assert.ok(front.refusals.wrongKey >= 2 && front.refusals.missing >= 2 && front.refusals.badMd5 >= 1);
  });

  test('a multipart upload is stored encrypted as one object, and read across its parts', async () => {
    const key = randomBytes(32);
    const body = Buffer.concat([randomBytes(6 * 1024 * 1024), Buffer.from(MARKER), randomBytes(1024)]);
    await new Upload({ client: c, params: { Bucket: BUCKET, Key: 'mp/big.bin', Body: body, ...keyed(key) }, partSize: 5 * 1024 * 1024, queueSize: 1 }).done();
    const at = 5 * 1024 * 1024 - 5;
    const r = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mp/big.bin', Range: `bytes=${at}-${at + 99}`, ...keyed(key) }));
    assert.ok(Buffer.from(await r.Body?.transformToByteArray() ?? []).equals(body.subarray(at, at + 100)));
    const stored = (await bodiesAtRest(s3.dir)).find((f) => f.path.includes('big.bin'));
    assert.equal(stored?.bytes.length, body.length);
    assert.equal(stored?.bytes.includes(MARKER), false);
  });
});

const target = trinoTarget(process.env);
const why = 'skip' in target ? target.skip : await trinoReachable(target);
if (why !== undefined) console.log(`Trino on the SSE-C store skipped: ${why}`);

describe('Trino on an SSE-C object store', { skip: why }, () => {
  let s3: S3Server;
  let front: SseCFront;
  let duck: Engine;
  let client: TrinoClient;
  let dir: string;
  let store: TrinoS3Store;
  const dataset = `ssec${randomBytes(3).toString('hex')}`;
  const catalog = datasetCatalog(dataset);
  const datasetKey = randomBytes(32);
  const rows = `SELECT 'P' || CAST(i % 97 AS VARCHAR) AS BEN_NIR_PSA, CAST(DATE '2021-01-01' + CAST(i % 365 AS INTEGER) AS DATE) AS EXE_SOI_DTD, '${MARKER}-' || CAST(i % 5 AS VARCHAR) AS PRS_NAT_REF, CAST(1 + i % 3 AS INTEGER) AS PRS_ACT_QTE FROM (SELECT range AS i FROM range(4000))`;
  const extra: string[] = [];

  before(async () => {
    if ('skip' in target) return;
    s3 = await startS3Server([BUCKET]);
    front = await startSseCFront(s3.endpoint);
    store = { endpoint: front.endpoint, region: 'us-east-1', bucket: BUCKET, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
    client = new TrinoClient({ url: target.url });
    duck = await openDuckDb({ threads: 1 });
    dir = await mkdtemp(join(tmpdir(), 'enclave-ssec-'));
  });
  after(async () => {
    if (client !== undefined) for (const c of [catalog, ...extra]) await dropCatalog(client, c).catch(() => undefined);
    await duck?.close();
    await front?.close();
    await s3?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a dataset version uploaded with its SSE-C key is read by Trino with DuckDB\'s answers; at rest, only ciphertext', async () => {
    if ('skip' in target) return;
    // The version as the store keeps it for DuckDB: Parquet Modular Encryption with the dataset key.
    const s = await duck.session();
    const file = join(dir, 'part-0.parquet');
    try {
      await copyQueryToEncryptedParquet(s, rows, file, datasetKey);
    } finally {
      s.close();
    }
    const copy = openTrinoDatasetCopy({ url: target.url, engine: duck, s3: { store, prefix: 'versions' } });
    const version = { dataset, version: 1, manifest: { merkleRoot: 'r1', files: [{ path: 'ER_PRS_F/year=2021/part-0.parquet', table: 'ER_PRS_F', year: 2021 }] } };
    await copy.ensure(version, [file], (fn) => fn(datasetKey));
    assert.ok((await trinoCatalogs(client)).includes(catalog), 'the dataset\'s catalog was created');

    const sql = 'SELECT count(*) AS n, count(DISTINCT ben_nir_psa) AS persons, sum(prs_act_qte) AS units, min(exe_soi_dtd) AS first_day, max(prs_nat_ref) AS nature';
    const onTrino = await client.query(`${sql} FROM ${catalog}.${datasetSchema(dataset, 1)}.er_prs_f`, { user: ADMIN_USER });
    const d = await duck.session();
    let onDuck: Record<string, unknown>[];
    try {
      onDuck = await d.all(`${sql} FROM (${rows})`);
    } finally {
      d.close();
    }
    const first = onDuck[0] ?? {};
    assert.deepEqual(onTrino.rows[0]?.map(String), [first['n'], first['persons'], first['units'], first['first_day'], first['nature']].map((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v))));

    // Trino writes with the catalog's key too: a table created from the version.
    await client.query(`CREATE TABLE ${catalog}.${datasetSchema(dataset, 1)}.written WITH (format = 'PARQUET') AS SELECT * FROM ${catalog}.${datasetSchema(dataset, 1)}.er_prs_f WHERE prs_act_qte = 2`, { user: ADMIN_USER });
    const back = await client.query(`SELECT count(*) FROM ${catalog}.${datasetSchema(dataset, 1)}.written`, { user: ADMIN_USER });
    assert.ok(Number(back.rows[0]?.[0]) > 0);

    const bodies = await bodiesAtRest(s3.dir);
    const parquet = bodies.filter((b) => /\.parquet\._S3rver_object$/.test(b.path) || /written\//.test(b.path));
    assert.ok(parquet.length >= 2, `the version's file and Trino's written file are on the store (${bodies.map((b) => b.path).join(', ')})`);
    for (const b of bodies) {
      assert.equal(b.bytes.includes('PAR1'), false, `${b.path}: Parquet magic at rest`);
      assert.equal(b.bytes.includes(MARKER), false, `${b.path}: a known value at rest`);
      assert.equal(b.bytes.includes('"columns"'), false, `${b.path}: metastore JSON in clear at rest`);
    }
    // s3rver keeps metadata beside the bodies: the salt, the IV and a MAC, never the key.
    const all = Buffer.concat((await atRest(s3.dir)).map((f) => f.bytes));
    const k = datasetSseCKey(dataset, datasetKey);
    assert.equal(all.includes(k), false);
    assert.equal(all.includes(Buffer.from(k.toString('base64'))), false);
    console.log(`Trino on SSE-C: ${bodies.length} objects at rest (version file, Trino's writes, file metastore), 0 with Parquet magic or a known value; Trino read ${String(onTrino.rows[0]?.[0])} rows equal to DuckDB's`);
  });

  test('a catalog with another key reads nothing, and a dropped catalog is gone', async () => {
    const wrong = `${catalog}_wrong`;
    extra.push(wrong);
    const metastore = `s3://${BUCKET}/versions/_metastore`;
    await ensureS3Catalog(client, wrong, store, randomBytes(32), metastore);
    const before = front.refusals.wrongKey;
    let error = '';
    try {
      await client.query(`SELECT count(*) FROM ${wrong}.${datasetSchema(dataset, 1)}.er_prs_f`, { user: ADMIN_USER });
    } catch (e) {
      error = e instanceof TrinoQueryError ? `${e.error.errorName}: ${e.error.message}` : String(e);
    }
    assert.notEqual(error, '', 'the read with another key must fail');
    assert.ok(front.refusals.wrongKey > before, 'the store refused the other key');
    console.log(`Trino on SSE-C with another key: ${error.slice(0, 200)}`);

    await dropCatalog(client, wrong);
    assert.equal((await trinoCatalogs(client)).includes(wrong), false);
    await assert.rejects(client.query(`SELECT 1 FROM ${wrong}.information_schema.schemata`, { user: ADMIN_USER }), (e: unknown) => e instanceof TrinoQueryError && /CATALOG_NOT_FOUND|not found|does not exist/i.test(`${e.error.errorName} ${e.error.message}`));
  });

  test('a project\'s extract lives in its own catalog under the project\'s key; the project closed, a backup of its objects reads nothing', async () => {
    if ('skip' in target) return;
    const projectId = `ssec-project-${randomBytes(3).toString('hex')}`;
    const catalogOfProject = projectCatalog(projectId);
    extra.push(catalogOfProject);
    const projectKey = randomBytes(32);
    const builder = openTrinoExtractBuilder({ url: target.url, projectCatalogs: { store, prefix: 'projects' } });
    const plan: PlanTable = {
      dataset, table: 'ER_PRS_F', name: 'er_prs_f',
      columns: [{ name: 'ben_nir_psa', source: 'BEN_NIR_PSA', rekey: true }, { name: 'exe_soi_dtd', source: 'EXE_SOI_DTD', rekey: false }, { name: 'prs_nat_ref', source: 'PRS_NAT_REF', rekey: false }],
      years: { kind: 'file', from: 2021, to: 2021, reason: '' },
      population: { predicates: [{ column: 'PRS_ACT_QTE', op: 'in', values: [1, 2] }], viaPerson: null, reason: '' },
    };
    const built = await builder.buildTable({ table: plan, source: { catalog, schema: datasetSchema(dataset, 1), table: 'er_prs_f' }, personSources: [], workspaceId: projectId, rekeyKey: randomBytes(32), projectKey });
    assert.equal(built.target.catalog, catalogOfProject);
    assert.ok(built.rows > 0);

    // The member's workspace opens in the project's catalog.
    const engine = openTrinoWorkspaceEngine({ url: target.url, rulesFile: target.rulesFile, catalogOf: projectCatalog });
    try {
      const ws = await engine.open({ workspaceId: projectId, extract: [{ name: 'er_prs_f', files: [], key: Buffer.alloc(32) }], scratch: { dir: join(dir, 'scratch'), key: Buffer.alloc(32), quotaBytes: 1 << 20 }, limits: { ...defaultLimits, statementTimeoutMs: 30_000 } });
      const r = (await ws.run('SELECT count(*) AS n FROM er_prs_f')) as StatementResult;
      assert.equal(Number((await ws.page(r.resultId, { offset: 0, limit: 1 })).rows[0]?.[0]), built.rows);
      await ws.close();
    } finally {
      await engine.close();
    }
    const mine = (await bodiesAtRest(s3.dir)).filter((b) => b.path.includes(`projects/${catalogOfProject}`));
    assert.ok(mine.length >= 2, 'the project\'s extract and metastore are on the store');
    for (const b of mine) assert.equal(b.bytes.includes('PAR1') || b.bytes.includes(MARKER), false, `${b.path} in clear at rest`);

    // A backup of the store taken while the project was open.
    const backup = join(dir, 'backup');
    await cp(s3.dir, backup, { recursive: true });
    // Closure: the workspace schema and the catalog are dropped, the project key destroyed.
    await builder.dropWorkspace(projectId);
    assert.equal((await trinoCatalogs(client)).includes(catalogOfProject), false, 'the project\'s catalog is dropped');
    projectKey.fill(0);
    assert.equal((await bodiesAtRest(s3.dir)).filter((b) => b.path.includes(`projects/${catalogOfProject}/`) && b.path.includes('er_prs_f')).length, 0, 'the extract\'s objects are deleted');
    // The backup restored: without the destroyed key, no catalog reads it.
    await cp(backup, s3.dir, { recursive: true });
    const restored = `${catalogOfProject.slice(0, 50)}_restored`;
    extra.push(restored);
    await ensureS3Catalog(client, restored, store, randomBytes(32), `s3://${BUCKET}/projects/${catalogOfProject}`);
    const refusedBefore = front.refusals.wrongKey;
    let error = '';
    try {
      await client.query(`SELECT count(*) FROM ${restored}.${workspaceSchema(projectId)}.er_prs_f`, { user: ADMIN_USER });
    } catch (e) {
      error = e instanceof TrinoQueryError ? `${e.error.errorName}: ${e.error.message}` : String(e);
    }
    assert.notEqual(error, '');
    assert.ok(front.refusals.wrongKey > refusedBefore);
    console.log(`Trino per-project catalog: ${built.rows} extract rows in ${catalogOfProject}, ${mine.length} objects at rest all ciphertext; after closure the catalog is gone and a restored backup reads nothing (${error.slice(0, 120)})`);
  });

  test('the CREATE CATALOG statement names the SSE-C key only as a property, and refuses a bad name', () => {
    const sql = createS3CatalogSql('enclave_p_x', store, Buffer.alloc(32, 7), 's3://b/m');
    assert.match(sql, /"s3\.sse\.type" = 'CUSTOMER'/);
    assert.match(sql, /"s3\.sse\.customer-key" = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc='/);
    assert.throws(() => createS3CatalogSql('x; DROP', store, Buffer.alloc(32), 's3://b/m'), /not a Trino catalog name/);
  });
});
