/**
 * `npm run bench`: every benchmark, one after the other, each printing its own table of
 * ratios against the raw tool measured in the same run. Nothing here asserts a time.
 *
 *   npm run bench                 all
 *   npm run bench -- ingest       only those whose name contains "ingest"
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const benches: ReadonlyArray<readonly [name: string, path: string, args: readonly string[]]> = [
  ['ingest: synthesis, ingestion vs DuckDB CSV→Parquet, encrypted scan', 'bench/ingest.ts', []],
  ['parquet-crypto: encryption throughput, DuckDB read plain vs encrypted', 'src/parquet-crypto/bench.ts', []],
  ['audit: appends/s in transactions with and without the audit write, verification events/s vs raw SHA-256, proof latency at 10 M events', 'src/audit/bench.ts', ['500']],
  ['migrate: copy + verify vs cp + sha256sum', 'bench/migrate.ts', []],
  ['extract: project extract materialisation vs raw DuckDB COPY of the same rows', 'bench/extract.ts', []],
  ['workspace: cohort queries governed (HTTP API, sandbox, audit) vs plain DuckDB on 50 M events; 20 members at once', 'bench/workspace.ts', []],
  ['trino: cohort queries and an extract on DuckDB and a one-node Trino over the same files, and the sizing model', 'bench/trino.ts', []],
  ['pgwire: cohort queries through the PostgreSQL endpoint vs the HTTP API vs raw DuckDB, and a 1 M-row fetch in pages', 'bench/pgwire.ts', []],
];
const only = process.argv[2];
let failed = 0;
for (const [name, path, args] of benches) {
  if (only !== undefined && !name.includes(only)) continue;
  if (!existsSync(`${root}/${path}`)) continue;
  process.stdout.write(`\n━━ ${name} ━━\n`);
  const r = spawnSync(process.execPath, [path, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
