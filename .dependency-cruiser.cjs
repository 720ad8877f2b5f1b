/**
 * Dependencies point inward (DESIGN.md, CONVENTIONS.md): adapters (http, cli, pgwire) → domains
 * → the ports infrastructure implements. Only src/main.ts picks concrete implementations.
 */
const adapters = '^src/(http|cli|pgwire)/';
const domains = '^src/(audit|identity|catalog|governance|workspace|airlock|ingest|migrate|datasets|compliance|synth)/';
/** Modules that open a concrete database, engine or store: chosen by main.ts only; tests and benchmarks import them directly. */
const concrete = '^src/db/(pglite|postgres)\\.ts$|^src/store/(local|s3)\\.ts$|^src/engine/duckdb\\.ts$|^src/engine/duckdb-sandbox/sandbox\\.ts$|^src/engine/trino/engine\\.ts$';
/** Database, engine and cloud drivers: only src/engine, src/db, src/store (and main.ts through them) load them. */
const drivers = '(^|/)node_modules/(@duckdb/node-api|pg|@electric-sql/pglite|@aws-sdk/[^/]+)/';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true, viaOnly: { pathNot: '\\.test\\.ts$' } } },
    { name: 'domain-not-to-adapter', comment: 'domain code never imports an adapter', severity: 'error', from: { path: domains }, to: { path: adapters } },
    { name: 'infra-not-to-domain-or-adapter', comment: 'infrastructure implements ports; it does not call domains or adapters', severity: 'error', from: { path: '^src/(db|engine|store|keys|parquet-crypto)/', pathNot: '\\.test\\.ts$' }, to: { path: `${adapters}|^src/(catalog|governance|workspace|airlock|ingest|migrate|datasets|compliance|synth)/` } },
    { name: 'mail-is-infrastructure', comment: 'src/mail implements governance\'s Mailer port structurally: it imports no domain or adapter', severity: 'error', from: { path: '^src/mail/', pathNot: '\\.test\\.ts$' }, to: { path: `${adapters}|${domains}` } },
    { name: 'shared-imports-nothing', comment: 'src/shared imports nothing else from src', severity: 'error', from: { path: '^src/shared/' }, to: { path: '^src/', pathNot: '^src/shared/' } },
    { name: 'only-main-picks-concrete', comment: 'concrete PGlite/PostgreSQL/DuckDB/store openers and the SMTP mailer are chosen by main.ts only (index.ts files do not re-export them)', severity: 'error', from: { path: `${domains}|${adapters}|^src/(db|engine|store)/index\\.ts$`, pathNot: '\\.test\\.ts$|/bench\\.ts$|-child\\.ts$' }, to: { path: `${concrete}|^src/mail/` } },
    { name: 'workspace-reads-datasets-not-ingest-or-migrate', comment: 'the workspace and the airlock reach dataset versions through src/datasets only (issue 12: one owner for dataset versions)', severity: 'error', from: { path: '^src/(workspace|airlock)/' }, to: { path: '^src/(ingest|migrate)/' } },
    {
      name: 'no-driver-in-domain',
      comment: 'domains speak to ports; only src/engine, src/db and src/store load DuckDB, PostgreSQL, PGlite or the AWS SDK. '
        + 'Tests and benchmarks may read results with the raw tool (they compare against it). '
        + 'Exception: src/synth/parquet.ts (the test-delivery generator\'s typed Parquet mirror, run by `enclave synth`) still opens DuckDB itself; '
        + 'moving it behind the Engine port changes synthesize()\'s signature and its callers in the CLI, tests and bench, outside this change.',
      severity: 'error',
      from: { path: domains, pathNot: '\\.test\\.ts$|/bench\\.ts$|^src/synth/parquet\\.ts$' },
      to: { path: drivers },
    },
    {
      name: 'pgwire-through-the-workspace',
      comment: 'the PostgreSQL endpoint reaches data only through WorkspaceService (its permit checks, parser check, limits and audit): '
        + 'no database, engine or store driver, no concrete opener, no metadata database (pg-gateway frames the protocol)',
      severity: 'error',
      from: { path: '^src/pgwire/', pathNot: '\\.test\\.ts$' },
      to: { path: `${drivers}|${concrete}|^src/(db|store|keys)/|^src/engine/(duckdb|duckdb-sandbox)` },
    },
    { name: 'domain-public-api-only', comment: 'import another domain through its index.ts', severity: 'error', from: { path: '^src/([^/]+)/' }, to: { path: '^src/(audit|catalog|ingest|keys|db|engine|store|synth|migrate|datasets|parquet-crypto|identity|governance|mail)/(?!index\\.ts$)', pathNot: `^src/$1/|${concrete}` } },
    { name: 'no-test-code-in-product', severity: 'error', from: { pathNot: '\\.test\\.ts$|-child\\.ts$|^test/|^bench/|/bench\\.ts$' }, to: { path: '\\.test\\.ts$|^test/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
