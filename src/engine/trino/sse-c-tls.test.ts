/**
 * The SSE-C path over TLS, as a deployment reaches its provider's endpoint (the key travels in
 * every request): the object store front serves https with a certificate of the development CA
 * (`scripts/trino.sh tls`), which Enclave's S3 client trusts through `TrinoS3Store.ca`
 * (ENCLAVE_TRINO_S3_CA_FILE) and Trino through its JVM truststore (jvm.config written by
 * scripts/trino.sh). A version is uploaded with its SSE-C key, registered and read by Trino;
 * without the CA, Enclave's client refuses the endpoint.
 *
 * Needs ENCLAVE_TRINO_URL, ENCLAVE_TRINO_RULES_FILE and ENCLAVE_TRINO_TLS_DIR (the CA's folder of
 * the server at ENCLAVE_TRINO_URL, exported by .ci/run); skipped with the reason printed otherwise.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startS3Server, type S3Server } from '../../../test/helpers/s3.ts';
import { startSseCFront, type SseCFront } from '../../../test/helpers/sse-c-s3.ts';
import { copyQueryToEncryptedParquet } from '../../parquet-crypto/index.ts';
import { openDuckDb } from '../duckdb.ts';
import type { Engine } from '../port.ts';
import { trinoReachable, trinoTarget } from '../spec/trino-fixture.ts';
import { dropCatalog, type TrinoS3Store } from './catalogs.ts';
import { TrinoClient } from './client.ts';
import { datasetCatalog, openTrinoDatasetCopy } from './dataset-copy.ts';
import { datasetSchema } from './extract-compile.ts';
import { ADMIN_USER } from './rules.ts';

const BUCKET = 'enclave-tls';
const target = trinoTarget(process.env);
const tlsDir = process.env['ENCLAVE_TRINO_TLS_DIR'];
const why = 'skip' in target ? target.skip
  : tlsDir === undefined || tlsDir === '' ? 'ENCLAVE_TRINO_TLS_DIR is not set (the development CA Trino trusts: `scripts/trino.sh tls`, exported by .ci/run)'
    : await trinoReachable(target);
if (why !== undefined) console.log(`Trino on the SSE-C store over TLS skipped: ${why}`);

describe('Trino on the SSE-C object store over TLS', { skip: why }, () => {
  let s3: S3Server;
  let front: SseCFront;
  let duck: Engine;
  let dir: string;
  let ca: string;
  const dataset = `tls${randomBytes(3).toString('hex')}`;

  before(async () => {
    if ('skip' in target || tlsDir === undefined) return;
    ca = await readFile(join(tlsDir, 'ca.pem'), 'utf8');
    s3 = await startS3Server([BUCKET]);
    front = await startSseCFront(s3.endpoint, { tls: { cert: await readFile(join(tlsDir, 'server.pem'), 'utf8'), key: await readFile(join(tlsDir, 'server-key.pem'), 'utf8') } });
    duck = await openDuckDb({ threads: 1 });
    dir = await mkdtemp(join(tmpdir(), 'enclave-ssec-tls-'));
  });
  after(async () => {
    if (!('skip' in target)) await dropCatalog(new TrinoClient({ url: target.url }), datasetCatalog(dataset)).catch(() => undefined);
    await duck?.close();
    await front?.close();
    await s3?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a version is uploaded over https with its SSE-C key and read by Trino over https; without the CA the endpoint is refused', async () => {
    if ('skip' in target) return;
    assert.match(front.endpoint, /^https:\/\//);
    const key = randomBytes(32);
    const file = join(dir, 'part-0.parquet');
    const s = await duck.session();
    try {
      await copyQueryToEncryptedParquet(s, 'SELECT CAST(i AS INTEGER) AS PRS_ACT_QTE FROM range(300) t(i)', file, key);
    } finally {
      s.close();
    }
    const version = { dataset, version: 1, manifest: { merkleRoot: 'tls', files: [{ path: 'ER_PRS_F/year=2022/part-0.parquet', table: 'ER_PRS_F', year: 2022 }] } };
    const store: TrinoS3Store = { endpoint: front.endpoint, region: 'us-east-1', bucket: BUCKET, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

    const untrusted = openTrinoDatasetCopy({ url: target.url, engine: duck, s3: { store, prefix: 'versions' } });
    await assert.rejects(untrusted.ensure(version, [file], (fn) => fn(key)), /certificate|self.signed|issuer/i);

    const copy = openTrinoDatasetCopy({ url: target.url, engine: duck, s3: { store: { ...store, ca }, prefix: 'versions' } });
    await copy.ensure(version, [file], (fn) => fn(key));
    const r = await new TrinoClient({ url: target.url }).query(`SELECT count(*), sum(prs_act_qte) FROM ${datasetCatalog(dataset)}.${datasetSchema(dataset, 1)}.er_prs_f`, { user: ADMIN_USER });
    assert.deepEqual(r.rows[0]?.map(Number), [300, (299 * 300) / 2]);
    console.log(`SSE-C over TLS: a version uploaded by Enclave and read by Trino through ${front.endpoint} (development CA); refused without the CA`);
  });
});
