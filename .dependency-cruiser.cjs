/**
 * Dependencies point inward (DESIGN.md, CONVENTIONS.md): adapters (http, cli, pgwire) → domains
 * → the ports infrastructure implements. Only src/main.ts picks concrete implementations.
 */
const adapters = '^src/(http|cli|pgwire)/';
const domains = '^src/(audit|identity|catalog|governance|workspace|airlock|ingest|migrate|compliance|synth)/';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true, viaOnly: { pathNot: '\\.test\\.ts$' } } },
    { name: 'domain-not-to-adapter', comment: 'domain code never imports an adapter', severity: 'error', from: { path: domains }, to: { path: adapters } },
    { name: 'infra-not-to-domain-or-adapter', comment: 'infrastructure implements ports; it does not call domains or adapters', severity: 'error', from: { path: '^src/(db|engine|store|keys|parquet-crypto)/', pathNot: '\\.test\\.ts$' }, to: { path: `${adapters}|^src/(catalog|governance|workspace|airlock|ingest|migrate|compliance|synth)/` } },
    { name: 'mail-is-infrastructure', comment: 'src/mail implements governance\'s Mailer port structurally: it imports no domain or adapter', severity: 'error', from: { path: '^src/mail/', pathNot: '\\.test\\.ts$' }, to: { path: `${adapters}|${domains}` } },
    { name: 'shared-imports-nothing', comment: 'src/shared imports nothing else from src', severity: 'error', from: { path: '^src/shared/' }, to: { path: '^src/', pathNot: '^src/shared/' } },
    { name: 'only-main-picks-concrete', comment: 'concrete PGlite/PostgreSQL/DuckDB/store openers and the SMTP mailer are chosen by main.ts only', severity: 'error', from: { path: `${domains}|${adapters}`, pathNot: '\\.test\\.ts$|/bench\\.ts$' }, to: { path: '^src/db/(pglite|postgres)\\.ts$|^src/store/(local|s3)\\.ts$|^src/mail/' } },
    { name: 'domain-public-api-only', comment: 'import another domain through its index.ts', severity: 'error', from: { path: '^src/([^/]+)/' }, to: { path: '^src/(audit|catalog|ingest|keys|db|engine|store|synth|migrate|parquet-crypto|identity|governance|mail)/(?!index\\.ts$)', pathNot: '^src/$1/' } },
    { name: 'no-test-code-in-product', severity: 'error', from: { pathNot: '\\.test\\.ts$|-child\\.ts$|^test/|^bench/|/bench\\.ts$' }, to: { path: '\\.test\\.ts$|^test/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: 'node_modules' },
  },
};
