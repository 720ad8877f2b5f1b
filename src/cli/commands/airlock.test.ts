/**
 * `enclave airlock …` on the server's terminal (local mode, `--as`), over the real airlock service
 * of test/helpers/airlock.ts: a member files and submits, two checkers approve, the member
 * downloads and `enclave airlock verify` accepts the file; the same refusals as the API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BY_DEPT, openAirlockFixture, type AirlockFixture } from '../../../test/helpers/airlock.ts';
import { outputCsv } from '../../airlock/index.ts';
import type { DisclosureReport } from '../../airlock/rules/index.ts';
import { runCli } from '../program.ts';
import type { CliServices } from '../services.ts';

describe('enclave airlock (requests and reviews)', () => {
  let a: AirlockFixture;
  let project: string;
  let dir: string;
  const run = async (args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const f = a.w.f;
    // the services a terminal would open, on the fixture's database and workspace
    const svc = { config: { oidc: { issuer: undefined } }, identity: f.identity, governance: f.gov, airlock: a.airlock, actor: { kind: 'person', id: 'local:test' }, close: async () => undefined } as unknown as CliServices;
    const code = await runCli(['node', 'enclave', 'airlock', ...args], {
      open: async () => svc, serve: async () => undefined, version: 'test', cwd: dir, env,
      out: { write: (s: string) => { out += s; } }, err: { write: (s: string) => { err += s; } },
    });
    return { code, out, err };
  };

  before(async () => {
    a = await openAirlockFixture();
    project = await a.w.activeProject();
    dir = await mkdtemp(join(tmpdir(), 'enclave-airlock-cli-'));
  });
  after(async () => {
    await a.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a member requests and submits, two checkers approve, the member downloads a bundle that verifies', async () => {
    await a.saveTable(project, 'cli_dept', BY_DEPT);
    const member = a.w.f.who.member.personId;
    const req = await run(['request', '--project', project, '--title', 'Persons by department', '--description', 'counts', '--population', 'everyone', '--output', 'cli_dept=persons by department', '--submit', '--as', member]);
    assert.equal(req.code, 0, req.err);
    assert.match(req.out, /\[submitted\]/);
    assert.match(req.out, /output cli_dept v1 \(frequency, 4 rows, SHA-256 [0-9a-f]{64}\) clean, 2 approval\(s\) needed/);
    const id = /request ([0-9a-f-]{36})/.exec(req.out)?.[1] ?? '';
    const ls = await run(['ls', '--status', 'submitted', '--as', a.checker1.personId]);
    assert.match(ls.out, new RegExp(id));
    const self = await run(['review', id, '--decision', 'approve', '--reason', 'rules_clean', '--as', member]);
    assert.equal(self.code, 1);
    assert.match(self.err, /error: reviewing outputs needs the output_checker role/);
    assert.equal((await run(['review', id, '--decision', 'approve', '--reason', 'rules_clean', '--as', a.checker1.personId])).code, 0);
    const again = await run(['review', id, '--decision', 'approve', '--reason', 'rules_clean', '--as', a.checker1.personId]);
    assert.equal(again.code, 1);
    assert.match(again.err, /four eyes: you have already voted/);
    const early = await run(['download', id, '--out', 'early.json', '--as', member]);
    assert.equal(early.code, 1);
    assert.match(early.err, /nothing to download: the request is in review/);
    const second = await run(['review', id, '--decision', 'approve', '--reason', 'rules_clean', '--as', a.checker2.personId]);
    assert.match(second.out, /\[released\]/);
    const dl = await run(['download', id, '--out', 'bundle.json', '--as', member]);
    assert.equal(dl.code, 0, dl.err);
    const v = await run(['verify', 'bundle.json', '--public-key', a.signer.publicKey]);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /verified: \d+ checks passed/);
    const twice = await run(['download', id, '--out', 'bundle.json', '--as', member]);
    assert.equal(twice.code, 1);
    assert.match(twice.err, /it exists \(a bundle is never overwritten\)/);
  });

  test('against a remote server, a review is refused before anything is sent: tokens do not review', async () => {
    const r = await run(['review', 'some-id', '--decision', 'approve', '--reason', 'rules_clean'], { ENCLAVE_URL: 'http://127.0.0.1:9', ENCLAVE_TOKEN: 'enc_x' });
    assert.equal(r.code, 1);
    assert.match(r.err, /error: outputs are not reviewed with API tokens/);
  });

  test('enclave airlock check gives the same report on the same rows as CSV', async () => {
    const d = await a.requestAt(project, 'submitted', { same_small: "SELECT dept, sex, count(*) AS n FROM persons WHERE person_id <= 30 OR dept = '75' GROUP BY dept, sex ORDER BY dept, sex" });
    const o = d.outputs[0];
    assert.ok(o !== undefined && o.rows !== undefined && d.report !== null);
    const dir = await mkdtemp(join(tmpdir(), 'enclave-airlock-same-'));
    try {
      await writeFile(join(dir, 'same_small.csv'), outputCsv(o.columns.map((c) => c.name), o.rows));
      await writeFile(join(dir, 'same_small.roles.json'), JSON.stringify({ name: 'same_small', population: d.request.population, datasetVersions: o.lineage.datasetVersions }));
      let out = '';
      await runCli(['node', 'enclave', 'airlock', 'check', 'same_small.csv', '--json', '--project', project], {
        open: () => Promise.reject(new Error('no services')), serve: async () => undefined, version: 'test', cwd: dir,
        out: { write: (x: string) => { out += x; } }, err: { write: () => undefined },
      });
      const cli = JSON.parse(out) as DisclosureReport;
      const service = d.report.outputs[0];
      const flags = (r: typeof service) => r?.flags.map((f) => ({ rule: f.rule, severity: f.severity, cell: f.cell, details: f.details }));
      assert.ok((service?.flags.length ?? 0) > 0, 'the case has flags to compare');
      assert.equal(cli.outputs[0]?.status, service?.status);
      assert.deepEqual(flags(cli.outputs[0]), flags(service));
      assert.deepEqual(cli.outputs[0]?.safeVersion.primary, service?.safeVersion.primary);
      assert.deepEqual(cli.outputs[0]?.safeVersion.secondary, service?.safeVersion.secondary);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
