/**
 * ENCLAVE_ENGINE=trino from the browser and the PostgreSQL endpoint (issue 17, "done when"): two
 * real Enclave servers with the same synthetic delivery ingested for real, one on DuckDB (the
 * default) and one on a real Trino; on each, a project's permit comes into force and its extract
 * is materialised (on Trino: in the project's schema). The member then runs the same statements
 * in the portal (real Chromium), through psql and through node-postgres on both, and gets the same
 * results; on Trino the portal pages a long result, cancels a long statement and shows why a
 * statement reaching Trino's `system` catalog is refused; the PostgreSQL endpoint describes the
 * extract's tables with the same PostgreSQL types and cancels a running statement.
 *
 * The two servers have their own keyrings, so pseudonyms differ between them: the statements
 * compare aggregates and the other columns (pseudonyms agreeing across engines for one permit is
 * src/engine/trino/end-to-end.test.ts's).
 *
 * Needs the e2e prerequisites (Chromium, the portal's build) and ENCLAVE_TRINO_URL,
 * ENCLAVE_TRINO_RULES_FILE, ENCLAVE_TRINO_WAREHOUSE; skipped with the reason printed otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { trinoExclusive, trinoReachable, trinoTarget } from '../../src/engine/spec/trino-fixture.ts';
import { startPgwire, type PgwireServer } from '../../src/pgwire/index.ts';
import { activeProject, demoPrincipal, ensureWebBuild, launchChromium, loginViaOidc, newPage, screenshot, skipReason, startEnclave, useLanguage, waitUntil, type Browser, type Enclave, type Page } from './harness.ts';

const run = promisify(execFile);
const PSQL = '/usr/bin/psql';
const PYTHON = '/usr/bin/python3';
const target = trinoTarget(process.env);
const warehouse = process.env['ENCLAVE_TRINO_WAREHOUSE'];
const skip = skipReason()
  ?? ('skip' in target ? target.skip : warehouse === undefined || warehouse === '' ? 'ENCLAVE_TRINO_WAREHOUSE is not set (`scripts/trino.sh warehouse`)' : await trinoReachable(target));
if (skip !== undefined) console.log(`portal and PostgreSQL endpoint on Trino skipped: ${skip}`);

/** Statements both engines speak, with results that do not depend on the project's keys. */
const QUERIES = [
  'SELECT count(*) AS n, count(DISTINCT ben_nir_psa) AS persons, sum(prs_act_qte) AS units, min(exe_soi_dtd) AS first_day, max(exe_soi_dtd) AS last_day FROM er_prs_f',
  'SELECT prs_nat_ref, count(*) AS n, sum(prs_act_qte) AS units FROM er_prs_f GROUP BY prs_nat_ref ORDER BY prs_nat_ref',
  'SELECT year(exe_soi_dtd) AS y, month(exe_soi_dtd) AS m, count(*) AS n FROM er_prs_f GROUP BY 1, 2 ORDER BY 1, 2',
  "SELECT CAST(prs_nat_ref AS VARCHAR) AS nature, CASE WHEN prs_act_qte > 1 THEN 'many' ELSE 'one' END AS qty, count(*) AS n FROM er_prs_f GROUP BY 1, 2 ORDER BY 1, 2",
];
const LONG = 'SELECT count(*) FROM er_prs_f a CROSS JOIN er_prs_f b CROSS JOIN er_prs_f c CROSS JOIN er_prs_f d WHERE a.prs_act_qte + b.prs_act_qte <> c.prs_act_qte * d.prs_act_qte';

async function typeSql(page: Page, sql: string): Promise<void> {
  await page.getByTestId('sql-editor').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type(sql);
  await page.keyboard.press('Escape');
}

/** Runs a statement from the keyboard and reads the result grid's cells (its first page). */
async function gridOf(page: Page, sql: string): Promise<string[][]> {
  const previous = (await page.getByTestId('result-sha').count()) > 0 ? await page.getByTestId('result-sha').textContent() : null;
  await typeSql(page, sql);
  await page.getByTestId('sql-editor').focus();
  await page.keyboard.press('ControlOrMeta+Enter');
  // a new result: its hash differs from the previous one (same statements give the same hash)
  await waitUntil(async () => {
    if ((await page.getByTestId('query-refused').count()) > 0) throw new Error(`${sql}: refused: ${await page.getByTestId('query-refused').textContent()}`);
    if ((await page.getByTestId('result-sha').count()) === 0) return false;
    const sha = await page.getByTestId('result-sha').textContent();
    return sha !== previous || previous === null;
  }, 120_000);
  await page.getByTestId('result-grid').waitFor();
  return page.getByTestId('result-grid').locator('tbody tr').evaluateAll((rows) => rows.map((r) => Array.from((r as unknown as { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> }).querySelectorAll('td')).map((td) => (td.textContent ?? '').trim())));
}

describe('the portal and the PostgreSQL endpoint on ENCLAVE_ENGINE=trino give DuckDB\'s results', { skip }, () => {
  let trino: Enclave;
  let duck: Enclave;
  let browser: Browser;
  let release: (() => Promise<void>) | undefined;
  const project: Record<'trino' | 'duck', string> = { trino: '', duck: '' };
  const pgw: Partial<Record<'trino' | 'duck', PgwireServer>> = {};
  const token: Record<'trino' | 'duck', string> = { trino: '', duck: '' };
  const browserRows: Partial<Record<'trino' | 'duck', string[][][]>> = {};

  before(async () => {
    if ('skip' in target || warehouse === undefined) return;
    await ensureWebBuild();
    // The dataset schema (snds_v1) is shared with src/engine/trino/end-to-end.test.ts: one at a time.
    release = await trinoExclusive(target);
    trino = await startEnclave({ ENCLAVE_ENGINE: 'trino', ENCLAVE_TRINO_URL: target.url, ENCLAVE_TRINO_RULES_FILE: target.rulesFile, ENCLAVE_TRINO_WAREHOUSE: warehouse }, { sample: true });
    duck = await startEnclave({}, { sample: true });
    browser = await launchChromium();
    for (const [k, e] of [['trino', trino], ['duck', duck]] as const) {
      project[k] = await activeProject(e, {
        title: `Délivrances (${k})`, tools: ['web_sql', 'database_protocol'],
        tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF', 'PRS_ACT_QTE'] }], years: { from: 2022, to: 2023 },
      });
      await e.platform.extracts.idle();
      const m = await e.platform.extracts.current(project[k]);
      assert.ok(m !== null, `${k}: the extract was not materialised`);
      if (k === 'trino') assert.match(m.tables[0]?.files[0]?.path ?? '', /^engine:trino\//, 'the extract is kept by Trino');
      console.log(`# ${k}: extract ${m.tables.map((t) => `${t.name} ${t.rows} rows`).join(', ')}`);
      token[k] = (await e.platform.identity.createApiToken(await demoPrincipal(e, 'member'), project[k], { label: 'pgwire' })).token;
      pgw[k] = await startPgwire({
        host: '127.0.0.1', port: 0, workspace: e.platform.workspace, identity: e.platform.identity, audit: e.platform.audit, recheckMs: 1000,
        onProjectChange: (l) => e.platform.governance.onProjectChange(l),
      });
    }
  });
  after(async () => {
    await pgw.trino?.close();
    await pgw.duck?.close();
    await browser?.close();
    await trino?.close();
    await duck?.close();
    await release?.();
  });

  test('in the browser: the same statements give the same grid on Trino as on DuckDB; Trino pages, cancels and refuses as DuckDB does', async () => {
    for (const [k, e] of [['duck', duck], ['trino', trino]] as const) {
      const person = e.demo.find((d) => d.username === 'member');
      assert.ok(person !== undefined);
      const { page, context, problems } = await newPage(browser, e.url, 'en');
      try {
        await page.goto('/');
        await useLanguage(page, 'en');
        await loginViaOidc(page, person);
        await page.goto(`/projects/${project[k]}/workspace`);
        await waitUntil(async () => {
          if ((await page.locator('[data-workspace-status="ready"]').count()) > 0) return true;
          const again = page.getByRole('button', { name: 'Check again' });
          if ((await again.count()) > 0) await again.click();
          return false;
        }, 120_000);
        // The schema browser lists the extract's table with its columns on both engines.
        const table = page.getByTestId('schema-extract').locator('li[data-table="er_prs_f"]');
        await table.locator('summary').click();
        await table.locator('tr[data-column="prs_act_qte"]').waitFor();
        const grids: string[][][] = [];
        for (const sql of QUERIES) grids.push(await gridOf(page, sql));
        browserRows[k] = grids;
        await screenshot(page, `workspace-${k}-result-en`);

        // Pages of 100 over the whole table.
        await typeSql(page, 'SELECT * FROM er_prs_f ORDER BY exe_soi_dtd, prs_nat_ref, prs_act_qte, ben_nir_psa');
        await page.getByTestId('sql-editor').focus();
        await page.keyboard.press('ControlOrMeta+Enter');
        const range = page.getByTestId('page-range').first();
        await range.waitFor();
        assert.match((await range.textContent()) ?? '', /^1–100 of \d/, k);
        await page.getByTestId('next-page').first().click();
        await waitUntil(async () => /^101–200 of \d/.test((await range.textContent()) ?? ''));
        await waitUntil(async () => (await page.getByTestId('result-grid').locator('tbody tr').first().locator('td').first().textContent()) === '101');

        // A long statement runs until the member cancels it.
        await typeSql(page, LONG);
        await page.getByTestId('sql-editor').focus();
        await page.keyboard.press('ControlOrMeta+Enter');
        await page.getByTestId('running').waitFor();
        await page.getByTestId('cancel').click();
        await page.getByTestId('query-cancelled').waitFor({ timeout: 60_000 });
        assert.ok(await page.getByTestId('run').isEnabled());

        // Reaching outside the extract is refused with a reason (on Trino: its system catalog).
        await typeSql(page, k === 'trino' ? 'SELECT * FROM system.runtime.queries' : "SELECT * FROM read_csv('/etc/passwd')");
        await page.getByTestId('sql-editor').focus();
        await page.keyboard.press('ControlOrMeta+Enter');
        await page.getByTestId('query-refused').waitFor();
        assert.match((await page.getByTestId('refused-reason').textContent()) ?? '', /\S{3,}/);
        await screenshot(page, `workspace-${k}-refused-en`);
        assert.deepEqual(problems(), [], k);
      } finally {
        await context.close();
      }
    }
    const [d, t] = [browserRows.duck, browserRows.trino];
    assert.ok(d !== undefined && t !== undefined);
    let cells = 0;
    for (const [i, sql] of QUERIES.entries()) {
      assert.ok((d[i]?.length ?? 0) > 0, sql);
      assert.deepEqual(t[i], d[i], sql);
      cells += (d[i] ?? []).reduce((n, r) => n + r.length, 0);
    }
    console.log(`portal on Trino: ${QUERIES.length} statements run in Chromium, ${cells} grid cells equal to DuckDB's; paged, cancelled and refused as on DuckDB`);
  });

  const client = async (k: 'trino' | 'duck'): Promise<pg.Client> => {
    const c = new pg.Client({ host: '127.0.0.1', port: pgw[k]?.port, database: project[k], user: 'member', password: token[k], ssl: false });
    await c.connect();
    return c;
  };
  const psql = async (k: 'trino' | 'duck', args: string[]): Promise<string> => {
    const r = await run(PSQL, ['-X', '-v', 'ON_ERROR_STOP=1', `host=127.0.0.1 port=${pgw[k]?.port ?? 0} dbname=${project[k]} user=member sslmode=disable connect_timeout=10`, ...args], { env: { ...process.env, PGPASSWORD: token[k] }, timeout: 120_000 });
    return r.stdout;
  };

  test('through the PostgreSQL endpoint: psql and node-postgres get the same types and rows on Trino as on DuckDB', async () => {
    // psql's catalogue queries: the same tables and the same PostgreSQL types.
    const dt = { trino: await psql('trino', ['-c', '\\dt']), duck: await psql('duck', ['-c', '\\dt']) };
    assert.match(dt.trino, /extract \| er_prs_f\s+\| table/);
    assert.equal(dt.trino, dt.duck);
    const d = { trino: await psql('trino', ['-c', '\\d er_prs_f']), duck: await psql('duck', ['-c', '\\d er_prs_f']) };
    assert.match(d.trino, /exe_soi_dtd\s+\| date/);
    assert.equal(d.trino, d.duck);
    let rows = 0;
    for (const sql of QUERIES) {
      const a = await psql('trino', ['-A', '-F', ',', '-t', '-c', sql]);
      const b = await psql('duck', ['-A', '-F', ',', '-t', '-c', sql]);
      assert.ok(b.trim() !== '', sql);
      assert.equal(a, b, sql);
    }
    // node-postgres: the extended protocol (parse, bind with a parameter, describe, execute).
    const [ct, cd] = [await client('trino'), await client('duck')];
    try {
      for (const sql of QUERIES) {
        const [a, b] = [await ct.query({ text: sql, rowMode: 'array' }), await cd.query({ text: sql, rowMode: 'array' })];
        assert.deepEqual(a.fields.map((f) => [f.name, f.dataTypeID]), b.fields.map((f) => [f.name, f.dataTypeID]), sql);
        assert.deepEqual(a.rows, b.rows, sql);
        rows += a.rows.length;
      }
      // node-postgres sends parameters untyped, as text: each takes the type of its place in the
      // statement (src/pgwire/param-types.ts), so the same client code runs on both engines
      // (Trino would refuse a string compared with a number or a date); a CAST still works.
      const untyped: [string, unknown[]][] = [
        ['SELECT count(*) AS n FROM er_prs_f WHERE prs_act_qte >= $1', [1]],
        ['SELECT count(*) AS n FROM er_prs_f WHERE exe_soi_dtd >= $1 AND exe_soi_dtd < $2 AND prs_act_qte IN ($3, $4)', [new Date(Date.UTC(2022, 5, 1)).toISOString().slice(0, 10), '2023-01-01', 1, 2]],
        ['SELECT exe_soi_dtd, prs_act_qte FROM er_prs_f WHERE prs_act_qte BETWEEN $1 AND $2 ORDER BY exe_soi_dtd, prs_act_qte LIMIT $3', [1, 3, 5]],
        ['SELECT count(*) AS n FROM er_prs_f WHERE prs_act_qte >= CAST($1 AS INTEGER)', [1]],
      ];
      for (const [sql, values] of untyped) {
        const [a, b] = [await ct.query({ text: sql, values, rowMode: 'array' }), await cd.query({ text: sql, values, rowMode: 'array' })];
        assert.ok(b.rows.length > 0, sql);
        assert.deepEqual(a.rows, b.rows, sql);
      }
      // A cursor-less client reads a large result in one go: every row of the table, in order.
      const all = 'SELECT exe_soi_dtd, prs_nat_ref, prs_act_qte FROM er_prs_f ORDER BY exe_soi_dtd, prs_nat_ref, prs_act_qte';
      const [x, y] = [await ct.query({ text: all, rowMode: 'array' }), await cd.query({ text: all, rowMode: 'array' })];
      assert.ok(x.rows.length > 100);
      assert.deepEqual(x.rows, y.rows);
      rows += x.rows.length;
    } finally {
      await ct.end();
      await cd.end();
    }
    console.log(`PostgreSQL endpoint on Trino: \\dt and \\d equal to DuckDB's; ${QUERIES.length} statements through psql and node-postgres, ${rows} rows equal to DuckDB's (types by OID included)`);
  });

  test('through the PostgreSQL endpoint: psycopg2 with its own literals (a date, a number) gets the same rows on Trino as on DuckDB', async (t) => {
    const probe = await run(PYTHON, ['-c', 'import psycopg2'], { timeout: 30_000 }).then(() => '', (e: Error) => e.message);
    if (probe !== '') {
      process.stdout.write(`psycopg2 on Trino: SKIPPED (${PYTHON} cannot import psycopg2: install python3-psycopg2)\n`);
      t.skip('python3-psycopg2 is not installed');
      return;
    }
    const script = `
import datetime, json, sys, psycopg2
conn = psycopg2.connect(host='127.0.0.1', port=int(sys.argv[1]), dbname=sys.argv[2], user='member', password=sys.argv[3], sslmode='disable')
cur = conn.cursor()
cur.execute("SELECT count(*) AS n, min(exe_soi_dtd) AS first FROM er_prs_f WHERE exe_soi_dtd >= %s AND prs_act_qte >= %s", (datetime.date(2022, 6, 1), 2))
print(json.dumps([str(v) for v in cur.fetchone()]))
conn.rollback()
`;
    const out: Record<string, string[]> = {};
    for (const k of ['trino', 'duck'] as const) out[k] = JSON.parse((await run(PYTHON, ['-c', script, String(pgw[k]?.port ?? 0), project[k], token[k]], { timeout: 60_000 })).stdout) as string[];
    assert.ok(Number(out['duck']?.[0]) > 0);
    assert.deepEqual(out['trino'], out['duck']);
    console.log(`psycopg2 on Trino: a date and a number bound by the client, ${out['trino']?.[0] ?? ''} rows counted as on DuckDB`);
  });

  test('through the PostgreSQL endpoint: a cancel request stops the statement running on Trino, and the connection goes on', async () => {
    const c = await client('trino');
    try {
      const long = c.query(LONG);
      // Wait until the statement runs on Trino (the workspace reports it as running).
      await new Promise((r) => setTimeout(r, 2000));
      const ids = c as unknown as { processID: number; secretKey: number };
      await new Promise<void>((resolve, reject) => {
        const s = connect(pgw.trino?.port ?? 0, '127.0.0.1', () => {
          const b = Buffer.alloc(16);
          b.writeInt32BE(16, 0);
          b.writeInt32BE(80877102, 4);
          b.writeInt32BE(ids.processID, 8);
          b.writeInt32BE(ids.secretKey, 12);
          s.end(b);
        });
        s.on('close', () => resolve());
        s.on('error', reject);
      });
      await assert.rejects(long, (e: Error & { code?: string }) => e.code === '57014' && /cancelled/.test(e.message));
      assert.deepEqual((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    } finally {
      await c.end();
    }
  });
});
