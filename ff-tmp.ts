import { DuckDBInstance } from '@duckdb/node-api';
import { copyQueryToEncryptedParquet } from './src/parquet-crypto/index.ts';
const inst = await DuckDBInstance.create(':memory:', { threads: '2' });
const c = await inst.connect();
await c.run(`CREATE TABLE t AS SELECT *, row_number() OVER () AS rn FROM '/tmp/plain-er_prs_f.parquet'`);
const key = new Uint8Array(32).fill(1);
for (let i = 0; i < 3; i++) {
  let t = performance.now();
  await c.run(`COPY (SELECT * FROM t) TO '/tmp/out.parquet' (FORMAT parquet, COMPRESSION zstd)`);
  console.log('file', (performance.now() - t).toFixed(0));
  t = performance.now();
  await copyQueryToEncryptedParquet(c, 'SELECT * FROM t', '/tmp/e1.parquet', key);
  console.log('1 fifo', (performance.now() - t).toFixed(0));
  for (const n of [2, 4]) {
    t = performance.now();
    const conns = await Promise.all(Array.from({ length: n }, () => inst.connect()));
    await Promise.all(conns.map((cc, j) => copyQueryToEncryptedParquet(cc, `SELECT * FROM t WHERE rn % ${n} = ${j}`, `/tmp/e2-${j}.parquet`, key)));
    console.log(n, 'fifos', (performance.now() - t).toFixed(0));
  }
}
