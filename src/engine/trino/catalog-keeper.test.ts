/**
 * The catalog keeper on a real Trino and an SSE-C object store (s3rver behind the test-only SSE-C
 * front): catalogs dropped behind Enclave's back (what a restart of a coordinator with
 * `catalog.store=memory` does) come back when a statement meets their absence, and at start;
 * only those in use; a dataset's catalog only once its copy is checked again.
 *
 * Own dataset and project names (random): no other test file's catalogs are touched.
 * Needs ENCLAVE_TRINO_URL and ENCLAVE_TRINO_RULES_FILE; skipped with the reason printed otherwise.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3Server } from '../../../test/helpers/s3.ts';
import { startSseCFront, type SseCFront } from '../../../test/helpers/sse-c-s3.ts';
import { copyQueryToEncryptedParquet } from '../../parquet-crypto/index.ts';
import { openDuckDb } from '../duckdb.ts';
import type { PlanTable } from '../extract-port.ts';
import type { Engine } from '../port.ts';
import { defaultLimits } from '../spec/fixture.ts';
import { trinoReachable, trinoTarget } from '../spec/trino-fixture.ts';
import type { StatementResult } from '../workspace-port.ts';
import { openCatalogKeeper, type CatalogKeeper, type CatalogRecreation } from './catalog-keeper.ts';
import { dropCatalog, sseCHeaders, trinoCatalogs, type TrinoS3Store } from './catalogs.ts';
import { TrinoClient } from './client.ts';
import { datasetCatalog, datasetSseCKey, openTrinoDatasetCopy, type CopiedVersion, type TrinoDatasetCopy } from './dataset-copy.ts';
import { datasetSchema } from './extract-compile.ts';
import { openTrinoWorkspaceEngine, projectCatalog } from './engine.ts';
import { openTrinoExtractBuilder } from './extract.ts';
import { ADMIN_USER } from './rules.ts';

const BUCKET = 'enclave-keeper';
const target = trinoTarget(process.env);
const why = 'skip' in target ? target.skip : await trinoReachable(target);
if (why !== undefined) console.log(`the Trino catalog keeper skipped: ${why}`);

describe('the Trino catalog keeper', { skip: why }, () => {
  let s3: S3Server;
  let front: SseCFront;
  let duck: Engine;
  let dir: string;
  let store: TrinoS3Store;
  let admin: TrinoClient;
  let copy: TrinoDatasetCopy;
  let keeper: CatalogKeeper;
  let client: TrinoClient;
  const tag = randomBytes(3).toString('hex');
  const dataset = `keep${tag}`;
  const catalog = datasetCatalog(dataset);
  const datasetKey = randomBytes(32);
  const projectId = `keeper-project-${tag}`;
  const projectKey = randomBytes(32);
  const active = new Set<string>([projectId]);
  const audited: CatalogRecreation[] = [];
  let version: CopiedVersion;
  let file: string;
  let extractRows = 0;

  before(async () => {
    if ('skip' in target) return;
    s3 = await startS3Server([BUCKET]);
    front = await startSseCFront(s3.endpoint);
    store = { endpoint: front.endpoint, region: 'us-east-1', bucket: BUCKET, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
    admin = new TrinoClient({ url: target.url });
    duck = await openDuckDb({ threads: 1 });
    dir = await mkdtemp(join(tmpdir(), 'enclave-keeper-'));
    const onCatalogNotFound = (c: string): Promise<boolean> => keeper.restore(c);
    copy = openTrinoDatasetCopy({ url: target.url, engine: duck, s3: { store, prefix: 'versions' }, onCatalogNotFound });
    keeper = openCatalogKeeper({
      url: target.url, store, projectPrefix: 'projects',
      activeProjects: async () => [...active],
      withProjectKey: (_p, fn) => fn(projectKey),
      datasets: async () => [dataset],
      datasetsInUse: async () => [dataset],
      // As DatasetVersions.prepareAgainForEngine does: the version made readable again, checked.
      restoreDataset: async () => copy.ensure(version, [file], (fn) => fn(datasetKey)),
      audit: async (r) => {
        audited.push(r);
      },
    });
    client = new TrinoClient({ url: target.url, onCatalogNotFound });

    file = join(dir, 'part-0.parquet');
    const s = await duck.session();
    try {
      await copyQueryToEncryptedParquet(s, 'SELECT \'P\' || CAST(i % 41 AS VARCHAR) AS BEN_NIR_PSA, CAST(DATE \'2021-01-01\' + CAST(i % 365 AS INTEGER) AS DATE) AS EXE_SOI_DTD, CAST(1 + i % 3 AS INTEGER) AS PRS_ACT_QTE FROM (SELECT range AS i FROM range(500))', file, datasetKey);
    } finally {
      s.close();
    }
    version = { dataset, version: 1, manifest: { merkleRoot: `root-${tag}`, files: [{ path: 'ER_PRS_F/year=2021/part-0.parquet', table: 'ER_PRS_F', year: 2021 }] } };
    await copy.ensure(version, [file], (fn) => fn(datasetKey));
    const builder = openTrinoExtractBuilder({ url: target.url, projectCatalogs: { store, prefix: 'projects' }, onCatalogNotFound });
    const plan: PlanTable = {
      dataset, table: 'ER_PRS_F', name: 'er_prs_f',
      columns: [{ name: 'ben_nir_psa', source: 'BEN_NIR_PSA', rekey: true }, { name: 'prs_act_qte', source: 'PRS_ACT_QTE', rekey: false }],
      years: { kind: 'file', from: 2021, to: 2021, reason: '' },
      population: { predicates: [], viaPerson: null, reason: '' },
    };
    extractRows = (await builder.buildTable({ table: plan, source: { catalog, schema: datasetSchema(dataset, 1), table: 'er_prs_f' }, personSources: [], workspaceId: projectId, rekeyKey: randomBytes(32), projectKey })).rows;
  });
  after(async () => {
    if (admin !== undefined) for (const c of [catalog, projectCatalog(projectId)]) await dropCatalog(admin, c).catch(() => undefined);
    await duck?.close();
    await front?.close();
    await s3?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a dataset catalog lost behind Enclave\'s back is created again when a statement meets its absence, checked, and the statement runs once more', async () => {
    await dropCatalog(admin, catalog);
    audited.length = 0;
    const r = await client.query(`SELECT count(*) FROM ${catalog}.${datasetSchema(dataset, 1)}.er_prs_f`, { user: ADMIN_USER });
    assert.equal(Number(r.rows[0]?.[0]), 500);
    assert.deepEqual(audited.map((a) => [a.catalog, a.kind, a.reason, a.outcome]), [[catalog, 'dataset', 'not_found', 'success']]);
  });

  test('a project\'s catalog lost is created again at start, and the workspace opens and queries its extract', async () => {
    if ('skip' in target) return;
    await dropCatalog(admin, projectCatalog(projectId));
    audited.length = 0;
    const r = await keeper.restoreAll();
    assert.deepEqual(r.failed, []);
    assert.deepEqual(r.recreated, [projectCatalog(projectId)]);
    assert.deepEqual(audited.map((a) => [a.catalog, a.kind, a.reason, a.outcome]), [[projectCatalog(projectId), 'project', 'start', 'success']]);
    const engine = openTrinoWorkspaceEngine({ url: target.url, rulesFile: target.rulesFile, catalogOf: projectCatalog, onCatalogNotFound: (c) => keeper.restore(c) });
    try {
      const ws = await engine.open({ workspaceId: projectId, extract: [{ name: 'er_prs_f', files: [], key: Buffer.alloc(32) }], scratch: { dir: join(dir, 'scratch'), key: Buffer.alloc(32), quotaBytes: 1 << 20 }, limits: { ...defaultLimits, statementTimeoutMs: 30_000 } });
      // Lost again while the workspace is open: its next statement brings it back.
      await dropCatalog(admin, projectCatalog(projectId));
      const q = (await ws.run('SELECT count(*) AS n FROM er_prs_f')) as StatementResult;
      assert.equal(Number((await ws.page(q.resultId, { offset: 0, limit: 1 })).rows[0]?.[0]), extractRows);
      assert.deepEqual(audited.map((a) => a.reason), ['start', 'not_found']);
      await ws.close();
    } finally {
      await engine.close();
    }
  });

  test('the catalog of a project no longer active is not created again', async () => {
    active.delete(projectId);
    try {
      await dropCatalog(admin, projectCatalog(projectId));
      audited.length = 0;
      assert.equal(await keeper.restore(projectCatalog(projectId)), false);
      assert.deepEqual((await keeper.restoreAll()).recreated, []);
      await assert.rejects(client.query(`SELECT count(*) FROM ${projectCatalog(projectId)}.information_schema.tables`, { user: ADMIN_USER }), /not found/);
      assert.equal((await trinoCatalogs(admin)).includes(projectCatalog(projectId)), false);
      assert.deepEqual(audited, []);
    } finally {
      active.add(projectId);
    }
  });

  test('a dataset catalog whose copy on the store no longer matches the manifest is refused when created again, and the refusal audited', async () => {
    // A file slipped into the version's prefix on the store, under the dataset's key.
    const sse = sseCHeaders(datasetSseCKey(dataset, datasetKey));
    const sdk = new S3Client({ endpoint: front.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    try {
      const body = await (async () => {
        const s = await duck.session();
        const f = join(dir, 'extra.parquet');
        try {
          await s.run(`COPY (SELECT 'X' AS BEN_NIR_PSA, DATE '2021-06-01' AS EXE_SOI_DTD, 9 AS PRS_ACT_QTE) TO '${f}' (FORMAT parquet)`);
        } finally {
          s.close();
        }
        return (await import('node:fs/promises')).readFile(f);
      })();
      await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: `versions/${datasetSchema(dataset, 1)}/ER_PRS_F/year=2021/extra.parquet`, Body: body, SSECustomerAlgorithm: 'AES256', SSECustomerKey: sse.key, SSECustomerKeyMD5: sse.md5 }));
    } finally {
      sdk.destroy();
    }
    await dropCatalog(admin, catalog);
    audited.length = 0;
    await assert.rejects(client.query(`SELECT count(*) FROM ${catalog}.${datasetSchema(dataset, 1)}.er_prs_f`, { user: ADMIN_USER }), (e: unknown) => e instanceof Error && /does not match its manifest/.test(e.message) && /extra\.parquet is not in the manifest/.test(e.message));
    assert.deepEqual(audited.map((a) => [a.catalog, a.reason, a.outcome]), [[catalog, 'not_found', 'failure']]);
    assert.match(audited[0]?.error ?? '', /does not match its manifest/);
    console.log(`catalog keeper: ${catalog} and ${projectCatalog(projectId)} created again after being lost; a tampered copy refused (${(audited[0]?.error ?? '').slice(0, 100)})`);
  });
});
