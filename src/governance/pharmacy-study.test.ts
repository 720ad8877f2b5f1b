/**
 * Issue 15, item 1: the realistic pharmacy study (ER_PHA_F joined to ER_PRS_F on the DCIR join
 * key, FLX_TRT_DTD from both tables, a care date) goes from application to active permit, through
 * the service (through HTTP: src/http/routes/governance-pharmacy.test.ts). A copy of a join key counts once; more distinct potential
 * identifiers than the rule allows need the applicant's justification and the committee's grant;
 * a reviewer can always return or refuse.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture } from '../../test/helpers/governance.ts';
import { AppError } from '../errors.ts';
import { ACTIONS, joinKeyConcepts, MAX_POTENTIAL_IDENTIFIERS, potentialIdentifierProblems, REVIEW_STATUSES, type ProjectStatus } from './index.ts';

const JUSTIFICATION = 'Exposure windows start at the dispensing date and the care date dates the outcome; both are needed, at day precision.';
const PHARMACY_SCOPE = [{
  dataset: 'snds',
  tables: [
    { table: 'ER_PHA_F', columns: ['DCT_ORD_NUM', 'FLX_TRT_DTD', 'PHA_PRS_C13'] },
    { table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'DCT_ORD_NUM', 'FLX_TRT_DTD', 'EXE_SOI_DTD'] },
  ],
}];
/** The same join without the care date: one potential identifier, copied by the join. */
const JOIN_ONLY_SCOPE = [{
  dataset: 'snds',
  tables: [
    { table: 'ER_PHA_F', columns: ['DCT_ORD_NUM', 'FLX_TRT_DTD', 'PHA_PRS_C13'] },
    { table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'DCT_ORD_NUM', 'FLX_TRT_DTD'] },
  ],
}];

const rejectsWith = async (p: Promise<unknown>, code: string, pattern: RegExp): Promise<AppError> => {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AppError, `expected AppError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
};

describe('potential identifiers are counted once per concept', () => {
  test('copies of a join key are one concept; unrelated columns stay apart', () => {
    const prs = { dataset: 'snds', name: 'ER_PRS_F', foreignKeys: [] };
    const pha = { dataset: 'snds', name: 'ER_PHA_F', foreignKeys: [{ fields: ['FLX_TRT_DTD'], reference: { resource: 'ER_PRS_F', fields: ['FLX_TRT_DTD'] } }] };
    const concepts = joinKeyConcepts([prs, pha] as never);
    const both = ['snds.ER_PHA_F.FLX_TRT_DTD', 'snds.ER_PRS_F.FLX_TRT_DTD'];
    assert.deepEqual(potentialIdentifierProblems(both, undefined, concepts), []);
    // without the join knowledge they counted twice (the defect)
    assert.equal(potentialIdentifierProblems(both, undefined).length, 1);
    const [problem] = potentialIdentifierProblems([...both, 'snds.ER_PRS_F.EXE_SOI_DTD'], undefined, concepts);
    assert.match(problem ?? '', /2 distinct potential identifiers/);
    assert.match(problem ?? '', /snds\.ER_PHA_F\.FLX_TRT_DTD = snds\.ER_PRS_F\.FLX_TRT_DTD \(one join key\)/);
    assert.match(problem ?? '', /snds\.ER_PRS_F\.EXE_SOI_DTD/);
    assert.equal(MAX_POTENTIAL_IDENTIFIERS, 1);
  });

  test('a reviewer can return or refuse a project in every review step, whatever its permit', () => {
    for (const s of REVIEW_STATUSES) {
      const from = (a: keyof typeof ACTIONS) => (ACTIONS[a].from as readonly ProjectStatus[]).includes(s);
      const names = (Object.keys(ACTIONS) as (keyof typeof ACTIONS)[]).filter(from);
      assert.ok(names.some((a) => ACTIONS[a].decision === 'return'), `${s}: no return`);
      if (s !== 'submitted') assert.ok(names.some((a) => ACTIONS[a].decision === 'reject'), `${s}: no refusal`);
    }
  });
});

describe('the pharmacy study through the service', () => {
  let f: GovFixture;
  before(async () => {
    f = await openGovFixture({ pharmacy: true });
  });
  after(async () => {
    await f.close();
  });

  const toCommittee = async (application: Record<string, unknown>): Promise<string> => {
    const { gov, who } = f;
    const p = await gov.createProject(who.applicant, application);
    await gov.addMember(who.applicant, p.id, who.member.personId, 'member');
    await gov.take(who.applicant, p.id, 'submit');
    await gov.take(who.committee1, p.id, 'accept_complete');
    await gov.take(who.ethics, p.id, 'ethics_favourable', { reference: 'CESREES-2026-042' });
    await gov.take(who.legal, p.id, 'legal_approve', { reference: 'MR-004' });
    return p.id;
  };
  const scopeOf = (datasets: unknown) => ({ ...(f.application().requestedScope as Record<string, unknown>), datasets });

  test('the catalogue marks FLX_TRT_DTD of both tables and the care date as potential identifiers', async () => {
    for (const [t, c] of [['ER_PHA_F', 'FLX_TRT_DTD'], ['ER_PRS_F', 'FLX_TRT_DTD'], ['ER_PRS_F', 'EXE_SOI_DTD']] as const) {
      const table = await f.catalog.getTable('snds', t);
      assert.equal(table.columns.find((x) => x.name === c)?.sensitivity, 'potential_identifier', `${t}.${c}`);
    }
  });

  test('the join alone (FLX_TRT_DTD on both tables) needs no exception', async () => {
    const id = await toCommittee(f.application({ requestedScope: scopeOf(JOIN_ONLY_SCOPE) }));
    const doc = await f.permitFor(id);
    assert.equal(doc.potentialIdentifierException, undefined);
    assert.equal((await f.gov.proposePermit(f.who.committee1, id, doc)).state, 'proposed');
  });

  test('without the exception the study is refused naming its columns; the committee can still return or refuse it', async () => {
    const id = await toCommittee(f.application({ requestedScope: scopeOf(PHARMACY_SCOPE) }));
    const doc = await f.permitFor(id);
    assert.equal(doc.potentialIdentifierException, undefined, 'no justification, no exception offered');
    const e = await rejectsWith(f.gov.proposePermit(f.who.committee1, id, doc), 'invalid', /2 distinct potential identifiers requested \(snds\.ER_PHA_F\.FLX_TRT_DTD = snds\.ER_PRS_F\.FLX_TRT_DTD \(one join key\), snds\.ER_PRS_F\.EXE_SOI_DTD\)/);
    assert.match(e.hint ?? '', /potentialIdentifierException/);
    assert.equal((await f.gov.take(f.who.committee2, id, 'committee_return', { comment: 'justify the care date' })).project.status, 'changes_requested');
    // the applicant justifies and resubmits; this time the committee refuses
    await f.gov.updateApplication(f.who.applicant, id, f.application({ requestedScope: scopeOf(PHARMACY_SCOPE), potentialIdentifierJustification: JUSTIFICATION }));
    await f.gov.take(f.who.applicant, id, 'submit');
    await f.gov.take(f.who.committee1, id, 'accept_complete');
    await f.gov.take(f.who.ethics, id, 'ethics_favourable');
    await f.gov.take(f.who.legal, id, 'legal_approve');
    assert.equal((await f.gov.take(f.who.committee1, id, 'committee_reject', { comment: 'exception refused' })).project.status, 'rejected');
  });

  test('a justification too short to judge is refused with its field', async () => {
    await rejectsWith(f.gov.createProject(f.who.applicant, f.application({ potentialIdentifierJustification: 'because' })), 'invalid', /potentialIdentifierJustification: explain in at least 40 characters/);
  });

  test('justified by the applicant and granted by the committee, the study reaches an active permit', async () => {
    const { gov, who } = f;
    const id = await toCommittee(f.application({ requestedScope: scopeOf(PHARMACY_SCOPE), potentialIdentifierJustification: JUSTIFICATION }));
    const shown = await gov.getProject(who.committee1, id);
    assert.equal(shown.application.content.potentialIdentifierJustification, JUSTIFICATION);
    const doc = await f.permitFor(id);
    assert.deepEqual(doc.potentialIdentifierException, {
      columns: ['snds.ER_PHA_F.FLX_TRT_DTD', 'snds.ER_PRS_F.EXE_SOI_DTD', 'snds.ER_PRS_F.FLX_TRT_DTD'], justification: JUSTIFICATION,
    });
    const permit = await gov.proposePermit(who.committee1, id, doc);
    await gov.take(who.committee1, id, 'committee_approve');
    const done = await gov.take(who.committee2, id, 'committee_approve');
    assert.equal(done.project.status, 'active');
    assert.equal(done.permits[0]?.document.potentialIdentifierException?.justification, JUSTIFICATION);
    assert.equal(await gov.canAccessData(who.member, id, { dataset: 'snds', table: 'ER_PHA_F', columns: ['FLX_TRT_DTD', 'PHA_PRS_C13'] }), true);
    assert.equal(await gov.canAccessData(who.member, id, { dataset: 'snds', table: 'ER_PRS_F', columns: ['EXE_SOI_DTD', 'FLX_TRT_DTD'] }), true);
    const proposed = [];
    for await (const l of f.audit.lines()) if (l.event?.action === 'governance.permit.propose' && l.event.target === `project:${id}`) proposed.push(l.event);
    assert.equal(proposed.length, 1);
    assert.deepEqual(proposed[0]?.details['potentialIdentifierException'], { columns: [...doc.potentialIdentifierException?.columns ?? []], justification: JUSTIFICATION });
    assert.equal(proposed[0]?.details['permitSha256'], permit.sha256);
  });
});
