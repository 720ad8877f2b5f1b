/**
 * The CLI drives a project from application to active permit, each step by a different demo
 * person of the embedded default, and refuses what the API refuses (a one-person decision, a
 * review by someone without the role), on the real platform (createPlatform).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestDb, testDbKind, type TestDb } from '../../../test/helpers/db.ts';
import { importPrsSchema } from '../../../test/helpers/governance.ts';
import { loadConfig } from '../../config.ts';
import { verifyPassword } from '../../identity/index.ts';
import { createPlatform, ensureDemoPeople, type Platform } from '../../main.ts';
import { runCli } from '../program.ts';

describe('enclave projects | permits | tokens | demo', () => {
  let dir: string;
  let t: TestDb | undefined;
  let p: Platform;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-cli-gov-'));
    t = testDbKind === 'postgres' ? await openTestDb({ migrated: false }) : undefined;
    p = await createPlatform(loadConfig({
      ENCLAVE_DATA_DIR: join(dir, 'data'), ENCLAVE_KEYRING: join(dir, 'keys', 'keyring.json'), ENCLAVE_ENGINE_THREADS: '1',
      ...(t?.url === undefined ? {} : { DATABASE_URL: t.url }),
    }), { kind: 'person', id: 'local:test' });
    await ensureDemoPeople(p);
    await importPrsSchema(p.catalog, dir, ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF']);
  });
  after(async () => {
    await p.close();
    await t?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'enclave', ...args], {
      version: 'test', serve: async () => undefined,
      open: async () => ({ ...p, close: async () => undefined }),
      out: { write: (s) => { out += s; } }, err: { write: (s) => { err += s; } },
    });
    return { code, out, err };
  };
  const ok = async (...args: string[]): Promise<string> => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `enclave ${args.join(' ')}: ${r.err}`);
    return r.out;
  };

  test('a project goes from application to active permit, each step by a different demo person, with the refusals audited', async () => {
    const app = join(dir, 'application.json');
    await writeFile(app, JSON.stringify({
      title: 'Statins and dementia', organisation: 'Inserm U1234', purpose: 'Estimate the association between statin use and dementia onset.',
      publicInterest: 'Dementia prevention.', legalBasis: { kind: 'reference_methodology', reference: 'MR-004' }, ethicsOpinionReference: null,
      funding: 'ANR', team: [{ name: 'A. Applicant', role: 'principal investigator', organisation: 'Inserm' }],
      requestedScope: { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF'] }] }], years: { from: 2019, to: 2023 }, population: 'adults over 50', justification: 'needed for exposure' },
    }));
    const created = await ok('projects', 'create', app, '--as', 'applicant');
    const id = /project (\S+) created/.exec(created)?.[1] ?? '';
    assert.notEqual(id, '');
    assert.match(await ok('projects', 'submit', id, '--as', 'applicant'), /submitted/);

    // the applicant cannot review their own project (nor has the role)
    const self = await cli('projects', 'review', id, '--step', 'completeness', '--decision', 'approve', '--as', 'applicant');
    assert.equal(self.code, 1);
    assert.match(self.err, /^error: /);

    await ok('projects', 'review', id, '--step', 'completeness', '--decision', 'approve', '--as', 'committee1');
    await ok('projects', 'review', id, '--step', 'ethics', '--decision', 'approve', '--reference', 'CESREES-2026-001', '--as', 'ethics');
    assert.match(await ok('projects', 'review', id, '--step', 'legal', '--decision', 'approve', '--reference', 'MR-004', '--as', 'legal'), /committee_review/);

    const permit = join(dir, 'permit.json');
    await writeFile(permit, await ok('permits', 'template', id, '--from', '2026-01-01', '--until', '2026-12-31', '--as', 'committee1'));
    assert.match(await ok('permits', 'validate', permit, '--as', 'committee1'), /valid permit/);
    await ok('permits', 'propose', id, permit, '--as', 'committee1');
    assert.match(await ok('projects', 'decide', id, '--decision', 'approve', '--as', 'committee1'), /1 committee approval/);
    const twice = await cli('projects', 'decide', id, '--decision', 'approve', '--as', 'committee1');
    assert.equal(twice.code, 1, 'one person cannot decide alone');
    assert.match(await ok('projects', 'decide', id, '--decision', 'approve', '--as', 'committee2'), /: active/);
    assert.match(await ok('permits', 'show', id, '--as', 'applicant'), /active/);

    const denied = await p.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_events WHERE target = $1 AND outcome IN ('denied', 'failure')`, [`project:${id}`]);
    assert.ok(Number(denied[0]?.n) >= 2, 'both refusals are in the audit log');
  });

  test('an amendment through the CLI: filed by the PI, reviewed by others with --amendment; the amended permit supersedes the one in force', async () => {
    const app = (columns: string[]) => JSON.stringify({
      title: 'Amended study', organisation: 'Inserm U1234', purpose: 'Estimate the association between statin use and dementia onset.',
      publicInterest: 'Dementia prevention.', legalBasis: { kind: 'reference_methodology', reference: 'MR-004' }, ethicsOpinionReference: null,
      funding: 'ANR', team: [{ name: 'A. Applicant', role: 'principal investigator', organisation: 'Inserm' }],
      requestedScope: { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns }] }], years: { from: 2019, to: 2023 }, population: 'adults over 50', justification: 'needed for exposure' },
    });
    await writeFile(join(dir, 'a1.json'), app(['BEN_NIR_PSA', 'EXE_SOI_DTD']));
    await writeFile(join(dir, 'a2.json'), app(['BEN_NIR_PSA', 'PRS_NAT_REF']));
    const id = /project (\S+) created/.exec(await ok('projects', 'create', join(dir, 'a1.json'), '--as', 'applicant'))?.[1] ?? '';
    await ok('projects', 'submit', id, '--as', 'applicant');
    await ok('projects', 'review', id, '--step', 'completeness', '--decision', 'approve', '--as', 'committee1');
    await ok('projects', 'review', id, '--step', 'ethics', '--decision', 'approve', '--as', 'ethics');
    await ok('projects', 'review', id, '--step', 'legal', '--decision', 'approve', '--as', 'legal');
    const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
    await writeFile(join(dir, 'p1.json'), await ok('permits', 'template', id, '--from', day(0), '--until', day(200), '--as', 'committee1'));
    await ok('permits', 'propose', id, join(dir, 'p1.json'), '--as', 'committee1');
    await ok('projects', 'decide', id, '--decision', 'approve', '--as', 'committee1');
    await ok('projects', 'decide', id, '--decision', 'approve', '--as', 'committee2');

    assert.match(await ok('projects', 'amend', id, join(dir, 'a2.json'), '--as', 'applicant'), /stays in force, unchanged/);
    const self = await cli('projects', 'review', id, '--amendment', '--step', 'completeness', '--decision', 'approve', '--as', 'applicant');
    assert.equal(self.code, 1);
    assert.match(self.err, /^error: to record the amendment as complete needs the access_committee role/);
    await ok('projects', 'review', id, '--amendment', '--step', 'completeness', '--decision', 'approve', '--as', 'committee1');
    await ok('projects', 'review', id, '--amendment', '--step', 'ethics', '--decision', 'approve', '--as', 'ethics');
    assert.match(await ok('projects', 'review', id, '--amendment', '--step', 'legal', '--decision', 'approve', '--as', 'legal'), /amendment committee_review/);
    await writeFile(join(dir, 'p2.json'), await ok('permits', 'template', id, '--amendment', '--as', 'committee1'));
    assert.match(await ok('permits', 'propose', id, join(dir, 'p2.json'), '--amendment', '--as', 'committee1'), /--amendment/);
    assert.match(await ok('projects', 'decide', id, '--amendment', '--decision', 'approve', '--as', 'committee1'), /1 committee approval/);
    const alone = await cli('projects', 'decide', id, '--amendment', '--decision', 'approve', '--as', 'committee1');
    assert.equal(alone.code, 1);
    assert.match(alone.err, /second, different committee member/);
    assert.match(await ok('projects', 'decide', id, '--amendment', '--decision', 'approve', '--as', 'committee2'), /amendment approved; permit version 2 is now in force/);
    const shown = await ok('permits', 'show', id, '--as', 'applicant');
    assert.match(shown, /^\s*1\s+superseded/m);
    assert.match(shown, /^\s*2\s+active/m);
    assert.match(await ok('projects', 'access', id, '--dataset', 'snds', '--table', 'ER_PRS_F', '--columns', 'PRS_NAT_REF', '--as', 'applicant'), /^allowed/);
    const removed = await cli('projects', 'access', id, '--dataset', 'snds', '--table', 'ER_PRS_F', '--columns', 'EXE_SOI_DTD', '--as', 'applicant');
    assert.equal(removed.code, 1);
    assert.match(removed.err, /EXE_SOI_DTD of ER_PRS_F are not in the permit/);
  });

  test('a permit file outside the schema is refused with the problems listed', async () => {
    const bad = join(dir, 'bad-permit.json');
    await writeFile(bad, JSON.stringify({ projectId: 'x', datasets: 'all' }));
    const r = await cli('permits', 'validate', bad);
    assert.equal(r.code, 1);
    assert.match(r.err, /permit schema/);
  });

  test('tokens: create (shown once), list, revoke', async () => {
    const projects = await ok('projects', 'ls', '--as', 'applicant');
    const id = /^(\S{8,})\s+active/m.exec(projects)?.[1] ?? '';
    assert.notEqual(id, '', projects);
    const c = await ok('tokens', 'create', '--project', id, '--days', '7', '--label', 'R session', '--as', 'applicant');
    const tokenId = /^token (\S+)/.exec(c)?.[1] ?? '';
    const secret = /^(enc_\S+)$/m.exec(c)?.[1] ?? '';
    assert.ok((await p.identity.resolveApiToken(secret)) !== null);
    assert.match(await ok('tokens', 'ls', '--as', 'applicant'), new RegExp(tokenId));
    assert.doesNotMatch(await ok('tokens', 'ls', '--as', 'applicant'), /enc_/);
    await ok('tokens', 'revoke', tokenId, '--as', 'applicant');
    assert.equal(await p.identity.resolveApiToken(secret), null);
  });

  test('demo people lists every demo person with a current TOTP code; an unknown --as is refused', async () => {
    const out = await ok('demo', 'people');
    assert.match(out, /DEMO ONLY/);
    for (const u of ['applicant', 'ethics', 'legal', 'committee1', 'committee2', 'checker', 'operator', 'auditor', 'admin']) assert.match(out, new RegExp(`^${u}\\s`, 'm'));
    const r = await cli('projects', 'ls', '--as', 'nobody');
    assert.equal(r.code, 1);
    assert.match(r.err, /no demo person nobody/);
  });

  test('demo people --new-passwords gives each demo person a new password, printed once and audited', async () => {
    const out = await ok('demo', 'people', '--new-passwords');
    const m = /^admin\s+admin\s+(\S+)\s/m.exec(out);
    assert.ok(m?.[1] !== undefined, out);
    const [row] = await p.db.query<{ password_hash: string }>("SELECT password_hash FROM identity_idp_accounts WHERE username = 'admin'");
    assert.ok(await verifyPassword(row?.password_hash ?? '', m[1]), 'the printed password is the stored one');
    const [n] = await p.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_events WHERE action = 'identity.idp.account.password_reset'");
    assert.equal(n?.n, '10');
  });
});
