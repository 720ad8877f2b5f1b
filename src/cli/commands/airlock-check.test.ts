import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { checkOutputs, DEFAULT_RULES, ledgerCellsOf, parseCsvOutput, rulesFrom } from '../../airlock/rules/index.ts';
import { runCli } from '../program.ts';

const BIN = new URL('../../../bin/enclave.js', import.meta.url).pathname;
const NODE = process.execPath;

const FILES = {
  'by-dept.csv': 'dept,age_band,n\n01,0-17,120\n01,18-64,7\n01,65+,33\n01,Total,160\n02,0-17,60\n02,18-64,70\n02,65+,45\n02,Total,175\n',
  'amounts.csv': 'dept,n_contributors,sum_amount,top1,top2\n01,40,10000,8000,1200\n02,55,20000,3000,2500\n',
  'km.csv': 'time,n_risk,n_event,n_censor,surv\n30,300,20,2,0.933\n60,278,9,1,0.903\n90,268,25,3,0.819\n',
  'clean.csv': 'dept,n\n01,160\n02,175\n',
  'patients.csv': 'dept,patients\n01,160\n02,175\n',
  'patients.roles.json': JSON.stringify({ roles: { patients: 'count' }, population: 'type 2 diabetics', datasetVersions: ['snds@1'] }),
};

describe('enclave airlock check', () => {
  let dir = '';
  const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'enclave', 'airlock', 'check', ...args], {
      open: () => Promise.reject(new Error('airlock check opens no services')),
      serve: () => Promise.resolve(),
      version: 'test',
      cwd: dir,
      out: { write: (s: string) => { out += s; } },
      err: { write: (s: string) => { err += s; } },
    });
    return { code, out, err };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-airlock-check-'));
    for (const [name, text] of Object.entries(FILES)) await writeFile(join(dir, name), text);
    await writeFile(join(dir, 'permit.json'), JSON.stringify({ schemaVersion: 1, projectId: 'p-1', disclosure: { minimumCellCount: 11, checkersRequired: 2 } }));
    await writeFile(join(dir, 'loose.json'), JSON.stringify({ minimumCount: 3 }));
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('--json prints the very report checkOutputs gives on the same CSV files', async () => {
    const files = ['by-dept.csv', 'amounts.csv', 'km.csv'];
    const r = await run(...files, '--rules', 'permit.json', '--project', 'p-1', '--json');
    assert.equal(r.code, 1);
    const outputs = await Promise.all(files.map(async (f) => parseCsvOutput(await readFile(join(dir, f), 'utf8'), f)));
    const expected = checkOutputs(outputs, rulesFrom({ schemaVersion: 1, projectId: 'p-1', disclosure: { minimumCellCount: 11, checkersRequired: 2 } }), [], { projectId: 'p-1' });
    assert.deepEqual(JSON.parse(r.out), JSON.parse(JSON.stringify(expected)));
    assert.deepEqual(expected.outputs.map((o) => o.flags.filter((f) => f.severity === 'block').map((f) => f.rule)), [['minimum_count'], ['dominance'], ['survival_events']]);
  });

  test('the table names each flagged cell by its line in the file, with the rule and the reason', async () => {
    const r = await run('by-dept.csv', '--rules', 'permit.json');
    assert.equal(r.code, 1);
    assert.match(r.out, /by-dept\.csv\s+3\s+n\s+minimum_count\s+block\s+dept=01, age_band=18-64: n = 7, under the minimum of 11/);
    assert.match(r.out, /proposed suppression: 1 cell\(s\) suppressed for the flags, \d+ more/);
    assert.match(r.out, /BLOCKED: 1 blocking and 0 review flag\(s\) over 8 cells in 1 output\(s\)/);
  });

  test('exit 0 when nothing blocks; the roles sidecar is read beside its file', async () => {
    const r = await run('clean.csv', 'patients.csv');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /CLEAN: 0 blocking and 0 review flag\(s\) over 4 cells in 2 output\(s\)/);
  });

  test('--ledger: a release of another project that differs by 5 is named', async () => {
    const released = ledgerCellsOf(parseCsvOutput('dept,patients\n01,165\n', 'earlier.csv', { population: 'type 2 diabetics under 80', datasetVersions: ['snds@1'] }), { projectId: 'p-2', releaseId: 'rel-42' });
    await writeFile(join(dir, 'ledger.json'), JSON.stringify(released));
    const r = await run('patients.csv', '--ledger', 'ledger.json', '--project', 'p-1');
    assert.equal(r.code, 1);
    assert.match(r.out, /differencing\s+block\s+dept=01: 160 here and 165 in release rel-42 \(earlier\.csv, project p-2\)/);
  });

  test('--safe-out writes the proposed safe version, small cell and its secondary blanked', async () => {
    const r = await run('by-dept.csv', '--safe-out', 'safe');
    assert.equal(r.code, 1);
    const safe = await readFile(join(dir, 'safe', 'by-dept.safe.csv'), 'utf8');
    assert.match(safe, /^01,18-64,$/mu);
    const again = await run(join('safe', 'by-dept.safe.csv'));
    assert.equal(again.code, 0, again.out);
  });

  test('bad input exits 2 with the file, line and column named', async () => {
    await writeFile(join(dir, 'bad.csv'), 'dept,n\n01,12\n02,douze\n');
    const r = await run('bad.csv');
    assert.equal(r.code, 2);
    assert.match(r.err, /error: bad\.csv line 3, column n: "douze" is not a number/);
    const loose = await run('clean.csv', '--rules', 'loose.json');
    assert.equal(loose.code, 2);
    assert.match(loose.err, /loose\.json at minimumCount: 3 is below the platform's 11/);
    const missing = await run('nope.csv');
    assert.equal(missing.code, 2);
    assert.match(missing.err, /cannot read .*nope\.csv: ENOENT/);
  });

  test('--help teaches with an example', async () => {
    const r = await run('--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /Example:\n {2}\$ cat by-dept\.csv/);
    assert.match(r.out, /Exit code: 0 when nothing blocks/);
  });

  test('the installed command gives the same exit code and JSON as a separate process', async () => {
    const res = await promisify(execFile)(NODE, [BIN, 'airlock', 'check', 'clean.csv', '--json'], { cwd: dir, env: { ...process.env, ENCLAVE_URL: '' } });
    const outputs = [parseCsvOutput(FILES['clean.csv'], 'clean.csv')];
    assert.deepEqual(JSON.parse(res.stdout), JSON.parse(JSON.stringify(checkOutputs(outputs, DEFAULT_RULES, []))));
  });
});
