/**
 * The airlock service on the real components: governance and the ledger on PGlite/PostgreSQL,
 * saved tables of a real DuckDB sandbox workspace, the local store, the audit log, Ed25519.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BY_DEPT, openAirlockFixture, type AirlockFixture } from '../../test/helpers/airlock.ts';
import { AppError } from '../errors.ts';
import type { Principal } from '../identity/index.ts';
import { outputCsv, verifyBundle } from './index.ts';

const isCode = (code: string, reason?: string) => (e: unknown): boolean => e instanceof AppError && e.code === code && (reason === undefined || e.details?.['reason'] === reason);

async function events(a: AirlockFixture, prefix: string) {
  const out = [];
  for await (const l of a.w.f.audit.lines()) if (l.event !== null && l.event.action.startsWith(prefix)) out.push(l.event);
  return out;
}

describe('airlock service', () => {
  let a: AirlockFixture;
  let project: string;

  before(async () => {
    a = await openAirlockFixture();
    project = await a.w.activeProject();
  });
  after(async () => {
    await a.close();
  });

  test('a member adds a saved table: rows snapshotted encrypted, with their SHA-256 and lineage, audited', async () => {
    const d = await a.requestAt(project, 'draft', { snap_dept: BY_DEPT });
    const o = d.outputs[0];
    assert.ok(o !== undefined);
    assert.deepEqual(o.rows, [['13', 250], ['33', 250], ['69', 250], ['75', 250]]);
    assert.equal(o.sha256, createHash('sha256').update(outputCsv(['dept', 'n'], o.rows ?? [])).digest('hex'));
    assert.equal(o.lineage.querySha256, createHash('sha256').update(BY_DEPT).digest('hex'));
    assert.deepEqual(o.lineage.datasetVersions, ['snds@1']);
    assert.equal(o.lineage.extractGeneration, 1);
    assert.deepEqual(o.columns.map((c) => [c.name, c.role]), [['dept', 'dimension'], ['n', 'count']]);
    const [raw] = await a.w.f.t.db.query<{ snapshot: Uint8Array }>('SELECT snapshot FROM airlock_outputs WHERE id = $1', [o.id]);
    assert.ok(raw !== undefined && !Buffer.from(raw.snapshot).toString('latin1').includes('250'), 'the snapshot is not stored in clear');
    const ev = (await events(a, 'airlock.output.add')).find((e) => e.details['output'] === o.id);
    assert.equal(ev?.details['sha256'], o.sha256);
    assert.equal(ev?.actor.id, a.w.f.who.member.personId);
  });

  test('a request by a non-member is refused and audited as denied', async () => {
    await assert.rejects(a.airlock.createRequest(a.w.f.who.outsider, { projectId: project, title: 't', description: 'd', population: 'p' }), isCode('forbidden', 'not_member'));
    await assert.rejects(a.airlock.createRequest(a.checker1, { projectId: project, title: 't', description: 'd', population: 'p' }), isCode('forbidden', 'not_member'));
    const denied = (await events(a, 'airlock.request.create')).filter((e) => e.outcome === 'denied');
    assert.ok(denied.some((e) => e.actor.id === a.w.f.who.outsider.personId));
  });

  test('submission computes the disclosure report, kept for the checkers with its SHA-256', async () => {
    const d = await a.requestAt(project, 'submitted', { sub_small: "SELECT dept, count(*) AS n FROM persons WHERE person_id <= 40 OR dept = '75' GROUP BY dept ORDER BY dept" });
    assert.equal(d.request.status, 'submitted');
    assert.ok(d.report !== null && d.reportSha256 !== null);
    const seen = await a.airlock.get(a.checker1, d.request.id);
    assert.deepEqual(seen.report, d.report);
    assert.ok(seen.actions.includes('review'));
    const flagged = d.report.outputs[0]?.flags.filter((f) => f.rule === 'minimum_count').map((f) => f.cell?.key['dept']) ?? [];
    const counts = new Map((d.outputs[0]?.rows ?? []).map((r) => [String(r[0]), Number(r[1])]));
    assert.deepEqual(flagged.sort(), [...counts].filter(([, n]) => n < 11).map(([k]) => k).sort(), 'exactly the cells under 11 are flagged by minimum_count');
    assert.equal(d.report.outputs[0]?.status, 'blocked');
  });

  test('an output blocked by the rules cannot be approved; it can be returned with the safe version', async () => {
    const d = await a.requestAt(project, 'submitted', { blk_small: 'SELECT dept, count(*) AS n FROM persons WHERE person_id <= 30 GROUP BY dept ORDER BY dept' });
    await assert.rejects(a.airlock.review(a.checker1, d.request.id, { votes: [{ output: 'blk_small', decision: 'approve', reasons: ['rules_clean'] }] }), isCode('disclosure_blocked'));
    const r = await a.airlock.review(a.checker1, d.request.id, { votes: [{ output: 'blk_small', decision: 'return', reasons: ['apply_safe_version'], comment: 'suppress the small cells as proposed' }] });
    assert.equal(r.request.status, 'returned');
  });

  test('a column holding the extract\'s re-keyed pseudonym is blocked by name, whatever the counts', async () => {
    const d = await a.requestAt(project, 'submitted', { pid_rows: 'SELECT person_id, count(*) AS n FROM events GROUP BY person_id HAVING count(*) >= 11 ORDER BY person_id LIMIT 20' });
    const rep = d.report?.outputs[0];
    assert.equal(rep?.status, 'blocked');
    assert.ok(rep?.flags.some((f) => f.rule === 'identifier' && f.severity === 'block'), JSON.stringify(rep?.flags.map((f) => f.rule)));
  });

  test('nobody reviews their own request: the requester holding the checker role is refused', async () => {
    const d = await a.requestAt(project, 'submitted', { own_dept: BY_DEPT });
    const self: Principal = { ...a.w.f.who.member, roles: new Set(['output_checker']) };
    await assert.rejects(a.airlock.review(self, d.request.id, { votes: [{ output: 'own_dept', decision: 'approve', reasons: ['rules_clean'] }] }), isCode('forbidden', 'own_request'));
    const pi: Principal = { ...a.w.f.who.applicant, roles: new Set(['output_checker']) };
    await assert.rejects(a.airlock.review(pi, d.request.id, { votes: [{ output: 'own_dept', decision: 'approve', reasons: ['rules_clean'] }] }), isCode('forbidden', 'project_member'));
    assert.equal((await a.airlock.get(a.w.f.who.member, d.request.id)).votes.length, 0);
  });

  test('a second vote by the same checker is refused; one checker never releases', async () => {
    const d = await a.requestAt(project, 'in_review', { one_dept: BY_DEPT });
    assert.equal(d.request.status, 'in_review');
    assert.deepEqual(d.approvalsNeeded, { one_dept: 1 });
    await assert.rejects(a.airlock.review(a.checker1, d.request.id, { votes: [{ output: 'one_dept', decision: 'approve', reasons: ['rules_clean'] }] }), isCode('conflict', 'already_voted'));
    await assert.rejects(a.airlock.download(a.w.f.who.member, d.request.id), isCode('conflict'));
    assert.equal((await a.w.f.t.db.query('SELECT 1 FROM airlock_releases WHERE request_id = $1', [d.request.id])).length, 0);
    assert.equal((await a.airlock.get(a.w.f.who.member, d.request.id)).request.status, 'in_review');
  });

  test('two checkers release: files under their SHA-256, a signed bundle verify accepts, downloads by members only, each audited with its hash', async () => {
    const d = await a.requestAt(project, 'released', { rel_dept: BY_DEPT });
    assert.equal(d.request.status, 'released');
    assert.ok(d.release !== null);
    const out = d.outputs[0];
    assert.ok(out !== undefined);
    const files = await readdir(join(a.store.root, 'airlock', 'outputs'));
    assert.ok(files.includes(`${out.sha256}.csv`));
    assert.equal(createHash('sha256').update(await readFile(join(a.store.root, 'airlock', 'outputs', `${out.sha256}.csv`))).digest('hex'), out.sha256);
    const b = await a.airlock.download(a.w.f.who.member, d.request.id);
    assert.equal(b.sha256, d.release.bundleSha256);
    const v = verifyBundle(b.body.toString('utf8'), a.signer.publicKey);
    assert.ok(v.ok, JSON.stringify(v.checks.filter((c) => !c.ok)));
    const csv = await a.airlock.download(a.w.f.who.applicant, d.request.id, { output: 'rel_dept' });
    assert.equal(csv.sha256, out.sha256);
    for (const who of [a.w.f.who.outsider, a.checker1, a.w.f.who.admin, a.w.f.who.auditor]) await assert.rejects(a.airlock.download(who, d.request.id), isCode('forbidden', 'not_member'));
    const downloads = await events(a, 'airlock.release.download');
    assert.ok(downloads.some((e) => e.outcome === 'success' && e.details['sha256'] === d.release?.bundleSha256 && e.actor.id === a.w.f.who.member.personId));
    assert.ok(downloads.some((e) => e.outcome === 'success' && e.details['sha256'] === out.sha256));
    assert.ok(downloads.some((e) => e.outcome === 'denied' && e.actor.id === a.w.f.who.outsider.personId));
    const rel = (await events(a, 'airlock.request.review')).find((e) => e.details['releaseId'] === d.release?.id);
    assert.equal(rel?.details['bundleSha256'], d.release.bundleSha256);
    // the ledger holds every released count with its lineage: the 4 departments and the total
    // they imply (kept so that a later table at another level of detail is compared with it)
    const ledger = await a.w.f.t.db.query<{ count: string; query_sha256: string }>('SELECT count, query_sha256 FROM airlock_ledger WHERE release_id = $1 ORDER BY count::bigint', [d.release.id]);
    assert.equal(ledger.length, 5);
    assert.equal(ledger.slice(0, 4).reduce((x, r) => x + Number(r.count), 0), Number(ledger[4]?.count));
    assert.equal(ledger[0]?.query_sha256, out.lineage.querySha256);
    await assert.rejects(a.w.f.t.db.query('DELETE FROM airlock_ledger WHERE release_id = $1', [d.release.id]), /append-only/);
  });

  test('two checkers voting at the same moment are both counted: the request is released once', async () => {
    const d = await a.requestAt(project, 'submitted', { both_dept: BY_DEPT });
    const vote = { votes: [{ output: 'both_dept', decision: 'approve', reasons: ['rules_clean'] }] };
    await Promise.all([a.airlock.review(a.checker1, d.request.id, vote), a.airlock.review(a.checker2, d.request.id, vote)]);
    const final = await a.airlock.get(a.w.f.who.member, d.request.id);
    assert.equal(final.request.status, 'released');
    assert.equal(final.votes.filter((v) => v.active && v.decision === 'approve').length, 2);
    assert.equal((await a.w.f.t.db.query('SELECT 1 FROM airlock_releases WHERE request_id = $1', [d.request.id])).length, 1);
  });

  test('a tampered bundle fails verification, saying what', async () => {
    const d = await a.requestAt(project, 'released', { tam_dept: BY_DEPT });
    const text = (await a.airlock.download(a.w.f.who.member, d.request.id)).body.toString('utf8');
    const b = JSON.parse(text) as { files: Record<string, string>; manifest: { decisions: { checkerId: string }[] } };
    b.files['tam_dept.csv'] = (b.files['tam_dept.csv'] ?? '').replace('250', '251');
    const v = verifyBundle(JSON.stringify(b), a.signer.publicKey);
    assert.equal(v.ok, false);
    assert.ok(v.checks.some((c) => c.check === 'file tam_dept.csv' && !c.ok && /changed/.test(c.message)));
    const forged = JSON.parse(text) as typeof b;
    forged.manifest.decisions = forged.manifest.decisions.slice(0, 1);
    const v2 = verifyBundle(JSON.stringify(forged), a.signer.publicKey);
    assert.ok(v2.checks.some((c) => c.check === 'signature' && !c.ok));
    assert.ok(v2.checks.some((c) => c.check.startsWith('four eyes') && !c.ok && /1 distinct/.test(c.message)));
    const other = verifyBundle(text, (await import('../keys/index.ts')).generateReleaseSigningKey().publicKey);
    assert.ok(other.checks.some((c) => c.check === 'signature' && !c.ok));
  });

  test('changing an output after one approval resets its votes; the request needs two approvals again', async () => {
    const d = await a.requestAt(project, 'in_review', { chg_a: BY_DEPT, chg_b: 'SELECT sex, count(*) AS n FROM persons GROUP BY sex ORDER BY sex' });
    const ret = await a.airlock.review(a.checker2, d.request.id, { votes: [
      { output: 'chg_a', decision: 'return', reasons: ['context_missing'], comment: 'define n' },
      { output: 'chg_b', decision: 'approve', reasons: ['rules_clean'] },
    ] });
    assert.equal(ret.request.status, 'returned');
    const a1 = ret.outputs.find((o) => o.name === 'chg_a');
    assert.ok(a1 !== undefined);
    const changed = await a.airlock.updateOutput(a.w.f.who.member, d.request.id, a1.id, { description: 'persons by department (n: distinct persons)' });
    assert.equal(changed.outputs.find((o) => o.name === 'chg_a')?.version, 2);
    assert.deepEqual(changed.approvalsNeeded, { chg_a: 2, chg_b: 0 }, 'chg_a lost checker1\'s approval; chg_b keeps both');
    assert.ok(!changed.votes.some((v) => v.active && v.outputId === a1.id));
    const resub = await a.airlock.submit(a.w.f.who.member, d.request.id);
    assert.equal(resub.request.status, 'submitted');
    await a.approveAll(a.checker1, d.request.id);
    const done = await a.approveAll(a.checker2, d.request.id);
    assert.equal(done.request.status, 'released');
    const returned = await a.airlock.review(a.checker3, d.request.id, { votes: [] }).catch((e: unknown) => e);
    assert.ok(returned instanceof AppError, 'a released request takes no more votes');
    const versions = await a.airlock.versions(a.w.f.who.member, d.request.id);
    assert.ok(versions.length >= 6);
    assert.deepEqual(versions.map((v) => v.version), versions.map((_, i) => i + 1));
  });

  test('changing the request\'s context sets every standing vote aside', async () => {
    const d = await a.requestAt(project, 'in_review', { ctx_a: BY_DEPT });
    const ret = await a.airlock.review(a.checker2, d.request.id, { votes: [{ output: 'ctx_a', decision: 'return', reasons: ['context_missing'], comment: 'say who is counted' }] });
    assert.equal(ret.votes.filter((v) => v.active).length, 2);
    const changed = await a.airlock.updateRequest(a.w.f.who.member, d.request.id, { population: 'persons alive on 1 January 2020' });
    assert.equal(changed.votes.filter((v) => v.active).length, 0);
    assert.deepEqual(changed.approvalsNeeded, { ctx_a: 2 });
    await assert.rejects(a.airlock.updateRequest(a.w.f.who.outsider, d.request.id, { population: 'x' }), isCode('forbidden', 'not_member'));
  });

  test('whoever changed the checkers\' roles during the review does not vote on it', async () => {
    const d = await a.requestAt(project, 'submitted', { sod_dept: BY_DEPT });
    const f = a.w.f;
    const id = await f.identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject: 'admin-checker', displayName: 'admin-checker', email: null, organisation: 'test' });
    await f.identity.seedRoles({ kind: 'service', id: 'test' }, id, ['admin', 'output_checker']);
    const adminChecker = await f.identity.principalOf(id, 'session');
    const change = await f.identity.grantRole(adminChecker, f.who.operator.personId, 'output_checker');
    await f.identity.decideRoleChange(f.who.admin, change.id, 'approve');
    await assert.rejects(a.airlock.review(adminChecker, d.request.id, { votes: [{ output: 'sod_dept', decision: 'approve', reasons: ['rules_clean'] }] }), isCode('forbidden', 'changed_checkers'));
  });

  test('a checker whose role the other checker granted (or who granted it) does not vote beside them', async () => {
    const f = a.w.f;
    const person = async (subject: string, roles: readonly ('admin' | 'output_checker')[]) => {
      const id = await f.identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject, displayName: subject, email: null, organisation: 'test' });
      if (roles.length > 0) await f.identity.seedRoles({ kind: 'service', id: 'test' }, id, roles);
      return f.identity.principalOf(id, 'session');
    };
    const granter = await person('granting-checker', ['admin', 'output_checker']);
    const granted0 = await person('granted-checker', []);
    const change = await f.identity.grantRole(granter, granted0.personId, 'output_checker');
    await f.identity.decideRoleChange(f.who.admin, change.id, 'approve');
    const granted = await f.identity.principalOf(granted0.personId, 'session');
    // granted before both requests were submitted: only the pair is concerned
    const vote = (name: string) => ({ votes: [{ output: name, decision: 'approve', reasons: ['rules_clean'] }] });
    const one = await a.requestAt(project, 'submitted', { pair_a: BY_DEPT });
    await a.airlock.review(granted, one.request.id, vote('pair_a'));
    await assert.rejects(a.airlock.review(granter, one.request.id, vote('pair_a')), isCode('forbidden', 'changed_checkers'));
    const two = await a.requestAt(project, 'submitted', { pair_b: BY_DEPT });
    await a.airlock.review(granter, two.request.id, vote('pair_b'));
    await assert.rejects(a.airlock.review(granted, two.request.id, vote('pair_b')), isCode('forbidden', 'changed_checkers'));
    assert.equal((await a.airlock.review(a.checker3, two.request.id, vote('pair_b'))).request.status, 'released', 'an independent checker completes it');
  });

  test('a differencing pair across two requests is flagged by the ledger, naming the earlier release', async () => {
    const first = await a.requestAt(project, 'released', { diff_all: BY_DEPT }, 'every person');
    const second = await a.requestAt(project, 'submitted', { diff_most: "SELECT dept, count(*) AS n FROM persons WHERE NOT (dept = '13' AND person_id % 100 = 1) GROUP BY dept ORDER BY dept" }, 'every person except a few');
    const flags = second.report?.outputs[0]?.flags.filter((f) => f.rule === 'differencing') ?? [];
    assert.ok(flags.length > 0, 'the pair is flagged');
    // every earlier release of this count by department (this file released several) is named; only department 13 differs, by 10 people (one under the threshold of 11)
    assert.ok(flags.some((f) => f.other?.releaseId === first.release?.id && f.other?.projectId === project));
    assert.ok(flags.every((f) => f.cell?.key['dept'] === '13' && f.other?.count === 250 && f.details['difference'] === 10), JSON.stringify(flags.map((f) => f.details)));
    assert.equal(second.report?.outputs[0]?.status, 'blocked');
    await assert.rejects(a.airlock.review(a.checker1, second.request.id, { votes: [{ output: 'diff_most', decision: 'approve', reasons: ['rules_clean'] }] }), isCode('disclosure_blocked'));
  });

  test('the ledger is shared across projects on the same base: another project\'s release is named, as another project\'s', async () => {
    const first = await a.requestAt(project, 'released', { base_all: BY_DEPT }, 'every person');
    const other = await a.w.activeProject();
    const d = await a.requestAt(other, 'submitted', { base_most: "SELECT dept, count(*) AS n FROM persons WHERE NOT (dept = '33' AND person_id % 50 = 7) GROUP BY dept ORDER BY dept" }, 'every person but some');
    const flags = d.report?.outputs[0]?.flags.filter((f) => f.rule === 'differencing' && f.other?.releaseId === first.release?.id) ?? [];
    assert.equal(flags.length, 1);
    assert.equal(flags[0]?.other?.projectId, project);
    assert.equal(flags[0]?.details['scope'], 'other_project');
    assert.equal(flags[0]?.cell?.key['dept'], '33');
  });

  test('auditors see a submitted request, its report and votes, never its rows; outsiders see nothing', async () => {
    const d = await a.requestAt(project, 'submitted', { aud_rows: BY_DEPT });
    const seen = await a.airlock.get(a.w.f.who.auditor, d.request.id);
    assert.ok(seen.report !== null);
    assert.equal(seen.outputs[0]?.rows, undefined);
    assert.ok((await a.airlock.get(a.checker1, d.request.id)).outputs[0]?.rows !== undefined);
    await assert.rejects(a.airlock.get(a.w.f.who.outsider, d.request.id), isCode('forbidden', 'not_member'));
    await assert.rejects(a.airlock.get(a.checker1, (await a.requestAt(project, 'draft', { aud_draft: BY_DEPT })).request.id), isCode('forbidden'));
  });

  test('every step of a release is in the audit log', async () => {
    const d = await a.requestAt(project, 'released', { aud_dept: BY_DEPT });
    await a.airlock.download(a.w.f.who.member, d.request.id);
    const target = `airlock-request:${d.request.id}`;
    const acts = (await events(a, 'airlock.')).filter((e) => e.target === target && e.outcome === 'success').map((e) => `${e.action}:${e.actor.id === a.w.f.who.member.personId ? 'member' : e.actor.id === a.checker1.personId ? 'checker1' : e.actor.id === a.checker2.personId ? 'checker2' : e.actor.id}`);
    assert.deepEqual(acts, ['airlock.request.create:member', 'airlock.output.add:member', 'airlock.request.submit:member', 'airlock.request.review:checker1', 'airlock.request.review:checker2', 'airlock.release.download:member']);
  });
});
