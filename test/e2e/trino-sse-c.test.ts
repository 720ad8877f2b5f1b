/**
 * The whole platform with ENCLAVE_ENGINE=trino and ENCLAVE_TRINO_S3_ENDPOINT (as main.ts wires
 * it), on a real Trino and an SSE-C object store (s3rver behind the test-only SSE-C front): a
 * synthetic delivery ingested for real; a permit comes into force and the member's extract is
 * materialised in the project's own catalog, from the dataset's own catalog, both on the store
 * under SSE-C; the member queries it through the API; nothing at rest is in clear; the project
 * closed, its catalog is gone, its keys destroyed, and a backup of its objects taken while it was
 * open reads nothing.
 *
 * Needs ENCLAVE_TRINO_URL and ENCLAVE_TRINO_RULES_FILE (a coordinator with
 * `catalog.management=dynamic`: scripts/trino.sh); skipped with the reason printed otherwise.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trinoReachable, trinoTarget } from '../../src/engine/spec/trino-fixture.ts';
import { ensureS3Catalog, trinoCatalogs } from '../../src/engine/trino/catalogs.ts';
import { TrinoClient, TrinoQueryError } from '../../src/engine/trino/client.ts';
import { datasetCatalog } from '../../src/engine/trino/dataset-copy.ts';
import { projectCatalog, workspaceSchema } from '../../src/engine/trino/engine.ts';
import { ADMIN_USER } from '../../src/engine/trino/rules.ts';
import { startS3Server, type S3Server } from '../helpers/s3.ts';
import { startSseCFront, type SseCFront } from '../helpers/sse-c-s3.ts';
import { activeProject, demoPrincipal, startEnclave, type Enclave } from './harness.ts';

const target = trinoTarget(process.env);
const why = 'skip' in target ? target.skip : await trinoReachable(target);
if (why !== undefined) console.log(`the platform on Trino with the SSE-C store skipped: ${why}`);

const BUCKET = 'enclave-trino-e2e';

async function bodies(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('._S3rver_object')) out.push({ path: join(e.parentPath, e.name).slice(dir.length + 1), bytes: await readFile(join(e.parentPath, e.name)) });
  }
  return out;
}

describe('ENCLAVE_ENGINE=trino with ENCLAVE_TRINO_S3_ENDPOINT: extracts and versions under SSE-C, per-project catalogs, crypto-shredded at closure', { skip: why }, () => {
  let s3: S3Server;
  let front: SseCFront;
  let enclave: Enclave;
  let client: TrinoClient;
  let scratch: string;
  const extra: string[] = [];

  before(async () => {
    if ('skip' in target) return;
    s3 = await startS3Server([BUCKET]);
    front = await startSseCFront(s3.endpoint);
    client = new TrinoClient({ url: target.url });
    scratch = await mkdtemp(join(tmpdir(), 'enclave-trino-ssec-e2e-'));
    // The dataset's catalog of an earlier run holds another key and another store: dropped first.
    for (const c of await trinoCatalogs(client)) if (c === datasetCatalog('snds')) await client.query(`DROP CATALOG ${c}`, { user: ADMIN_USER });
    enclave = await startEnclave({
      ENCLAVE_ENGINE: 'trino', ENCLAVE_TRINO_URL: target.url, ENCLAVE_TRINO_RULES_FILE: target.rulesFile,
      ENCLAVE_TRINO_S3_ENDPOINT: front.endpoint, ENCLAVE_S3_BUCKET: BUCKET, ENCLAVE_S3_ACCESS_KEY_ID: 'S3RVER', ENCLAVE_S3_SECRET_ACCESS_KEY: 'S3RVER', ENCLAVE_S3_PREFIX: `run-${randomBytes(3).toString('hex')}`,
    }, { sample: true });
  });
  after(async () => {
    await enclave?.close();
    if (client !== undefined) for (const c of [...extra, datasetCatalog('snds')]) await client.query(`DROP CATALOG IF EXISTS ${c}`, { user: ADMIN_USER }).catch(() => undefined);
    await front?.close();
    await s3?.close();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  test('the member\'s extract is built in the project\'s catalog under SSE-C, queried through the API; closed, nothing of it can be read', async () => {
    const projectId = await activeProject(enclave, { title: 'SSE-C', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
    await enclave.platform.extracts.idle();
    const m = await enclave.platform.extracts.current(projectId);
    assert.ok(m !== null, 'the extract was materialised');
    assert.equal(m.tables[0]?.files[0]?.path, `engine:trino/${projectCatalog(projectId)}.${workspaceSchema(projectId)}.er_prs_f`);
    const catalogs = await trinoCatalogs(client);
    assert.ok(catalogs.includes(datasetCatalog('snds')) && catalogs.includes(projectCatalog(projectId)), catalogs.join(', '));

    const member = await demoPrincipal(enclave, 'member');
    const token = (await enclave.platform.identity.createApiToken(member, projectId, { label: 'sse-c' })).token;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const q = await (await fetch(`${enclave.url}/api/v1/projects/${projectId}/queries`, { method: 'POST', headers, body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM er_prs_f', waitMs: 60_000 }) })).json() as { id: string; status: string };
    assert.equal(q.status, 'succeeded');
    const page = await (await fetch(`${enclave.url}/api/v1/projects/${projectId}/queries/${q.id}/rows?limit=10`, { headers })).json() as { rows: unknown[][] };
    assert.equal(Number(page.rows[0]?.[0]), m.tables[0]?.rows);

    // The project's catalog lost behind Enclave's back (a coordinator restart with
    // catalog.store=memory): the next query creates it again, audited, and runs.
    await client.query(`DROP CATALOG ${projectCatalog(projectId)}`, { user: ADMIN_USER });
    const again = await (await fetch(`${enclave.url}/api/v1/projects/${projectId}/queries`, { method: 'POST', headers, body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM er_prs_f', waitMs: 60_000 }) })).json() as { id: string; status: string };
    assert.equal(again.status, 'succeeded');
    const recreated = await enclave.platform.db.query<{ target: string; outcome: string; details: { catalog: string; reason: string } }>("SELECT target, outcome, details FROM audit_events WHERE action = 'trino.catalog.recreate'");
    assert.deepEqual(recreated.map((r) => [r.target, r.outcome, r.details.catalog, r.details.reason]), [[`project:${projectId}`, 'success', projectCatalog(projectId), 'not_found']]);

    const at = await bodies(s3.dir);
    const parquet = at.filter((b) => b.path.includes('.parquet') || /er_prs_f\//.test(b.path));
    assert.ok(parquet.length >= 2, at.map((b) => b.path).join(', '));
    for (const b of at) assert.equal(b.bytes.includes('PAR1'), false, `${b.path} in clear at rest`);

    const backup = join(scratch, 'backup');
    await cp(s3.dir, backup, { recursive: true });
    await enclave.platform.governance.take(await demoPrincipal(enclave, 'committee1'), projectId, 'close', { comment: 'end of the study' });
    await enclave.platform.workspace.settled();
    await enclave.platform.extracts.idle();
    assert.equal((await trinoCatalogs(client)).includes(projectCatalog(projectId)), false, 'the project\'s catalog is dropped');
    const keys = await enclave.platform.keys.listKeys();
    assert.ok(keys.filter((k) => k.scopeId === projectId).every((k) => k.state === 'destroyed'), 'the project keys are destroyed');
    await cp(backup, s3.dir, { recursive: true });
    const restored = `${projectCatalog(projectId).slice(0, 50)}_bk`;
    extra.push(restored);
    // s3rver keeps `<bucket>/<key>`: the project's metastore prefix as an s3:// location.
    const under = at.find((b) => b.path.includes(`/projects/${projectCatalog(projectId)}/`))?.path ?? '';
    const location = `s3://${under.slice(0, under.indexOf(`/projects/${projectCatalog(projectId)}/`))}/projects/${projectCatalog(projectId)}`;
    await ensureS3Catalog(client, restored, { endpoint: front.endpoint, region: 'us-east-1', bucket: BUCKET, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, randomBytes(32), location);
    const refused = front.refusals.wrongKey;
    await assert.rejects(client.query(`SELECT count(*) FROM ${restored}.${workspaceSchema(projectId)}.er_prs_f`, { user: ADMIN_USER }), (e: unknown) => e instanceof TrinoQueryError);
    assert.ok(front.refusals.wrongKey > refused, 'the store refused the key: the backup is there, and unreadable');
    console.log(`platform on Trino + SSE-C: extract ${m.tables.map((t) => `${t.name} ${t.rows} rows`).join(', ')} in ${projectCatalog(projectId)}; ${at.length} objects at rest, none in clear; closed: catalog dropped, keys destroyed, a restored backup unreadable`);
  });
});
