import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateLogKey, type LogSigner } from '../../src/audit/index.ts';
import { IngestService, ingestCatalogFrom } from '../../src/ingest/index.ts';
import { DatasetLocations, MigrationService } from '../../src/migrate/index.ts';
import { writeEncryptedParquet } from '../../src/parquet-crypto/index.ts';
import { StoreRegistry } from '../../src/store/index.ts';
import { openTestPlatform, type TestPlatform } from './platform.ts';

export const operator = { kind: 'person', id: 'test:operator' } as const;

export interface MigratePlatform extends TestPlatform {
  readonly stores: StoreRegistry;
  readonly locations: DatasetLocations;
  /** Ingestion wired to the location resolver, as main.ts wires it. */
  readonly ingestL: IngestService;
  readonly migration: MigrationService;
  readonly signer: LogSigner;
}

/** The test platform plus the store registry, the location resolver and the migration service. */
export async function openMigratePlatform(o: { readonly leaseSeconds?: number } = {}): Promise<MigratePlatform> {
  const p = await openTestPlatform();
  const stores = new StoreRegistry().add('local', p.store);
  const locations = new DatasetLocations({ db: p.t.db, stores, cacheDir: join(p.dir, 'cache') });
  const ingestL = new IngestService({ db: p.t.db, audit: p.audit, keys: p.keys, catalog: ingestCatalogFrom(p.catalog), engine: p.engine, store: p.store, writeParquet: writeEncryptedParquet, locations });
  const signer = generateLogKey('enclave.test/migration');
  const migration = new MigrationService({ db: p.t.db, audit: p.audit, keys: p.keys, ingest: ingestL, engine: p.engine, stores, locations, signer, leaseSeconds: o.leaseSeconds ?? 1 });
  return { ...p, stores, locations, ingestL, migration, signer };
}

const people = {
  name: 'IR_BEN_R', title: 'people', product: 'TEST', primaryKey: ['BEN_NIR_PSA'], enclave: { unpartitioned: true },
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'BEN_SEX_COD', type: 'integer', constraints: { required: true, enum: [1, 2] } },
    { name: 'BEN_NAI_ANN', type: 'year', constraints: { required: true, minimum: 1900, maximum: 2100 } },
  ],
};
const acts = {
  name: 'ER_PRS_F', title: 'acts', product: 'TEST', primaryKey: [], enclave: { yearColumn: 'EXE_SOI_DTD' },
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'EXE_SOI_DTD', type: 'date', constraints: { required: true } },
    { name: 'PRS_PAI_MNT', type: 'number', constraints: { required: true } },
  ],
};
const psa = (i: number): string => `P${String(i).padStart(16, '0')}`;

/**
 * A small delivery ingested as dataset `demo` (two tables shaped like SNDS's IR_BEN_R and
 * ER_PRS_F, one file per year): a dozen files of tens of KB, ingested in about a second.
 */
export async function ingestSample(p: Pick<MigratePlatform, 'catalog' | 'dir' | 'ingestL'>, o: { readonly rows?: number; readonly years?: number; readonly seed?: number } = {}): Promise<void> {
  if ((await p.catalog.listDatasets()).every((d) => d.name !== 'demo')) {
    const dir = join(p.dir, 'schema');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'IR_BEN_R.json'), JSON.stringify(people));
    await writeFile(join(dir, 'ER_PRS_F.json'), JSON.stringify(acts));
    await p.catalog.importDirectory(dir, { dataset: 'demo', actor: operator });
  }
  const seed = o.seed ?? 1;
  const out = join(p.dir, `delivery-${seed}`);
  await mkdir(out, { recursive: true });
  const n = 200;
  await writeFile(join(out, 'IR_BEN_R.csv'), ['BEN_NIR_PSA;BEN_SEX_COD;BEN_NAI_ANN', ...Array.from({ length: n }, (_, i) => `${psa(i)};${1 + (i % 2)};${1940 + ((i * seed) % 60)}`)].join('\n') + '\n');
  const rows = o.rows ?? 2000;
  const years = o.years ?? 8;
  const lines = ['BEN_NIR_PSA;EXE_SOI_DTD;PRS_PAI_MNT'];
  for (let i = 0; i < rows * years; i++) lines.push(`${psa((i * 7 + seed) % n)};${2015 + (i % years)}-0${1 + (i % 9)}-1${i % 10};${((i * 37 + seed) % 10000) / 100}`);
  await writeFile(join(out, 'ER_PRS_F.csv'), lines.join('\n') + '\n');
  await p.ingestL.ingest({ dataset: 'demo', inputs: [out], actor: operator });
}
