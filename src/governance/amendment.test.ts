/**
 * Amending an active permit: reviewed like the first application while the permit in force
 * stays so; approval supersedes it atomically; access follows the new permit at the next
 * request. Real services on PGlite or PostgreSQL (ENCLAVE_TEST_DB).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture } from '../../test/helpers/governance.ts';
import { AppError } from '../errors.ts';
import { AMENDMENT_ACTION_NAMES, AMENDMENT_ACTIONS, AMENDMENT_STATUSES, AMENDMENT_TRANSITIONS, type AmendmentStatus } from './index.ts';

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
  assert.ok(caught.hint !== undefined && caught.hint.length > 0, 'every refusal carries a hint');
  return caught;
};

/** The fixture's permit grants these ER_PRS_F columns. */
const GRANTED = ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF'];
/** The amendment adds PRS_ACT_QTE and drops EXE_SOI_DTD. */
const AMENDED = ['BEN_NIR_PSA', 'PRS_NAT_REF', 'PRS_ACT_QTE'];
const cols = (...columns: string[]) => ({ dataset: 'snds', table: 'ER_PRS_F', columns });

describe('amendment workflow table', () => {
  test('every status has an entry; every action edge is in the table; every edge but lapse has an action', () => {
    assert.deepEqual(Object.keys(AMENDMENT_TRANSITIONS).sort(), [...AMENDMENT_STATUSES].sort());
    for (const a of AMENDMENT_ACTION_NAMES) {
      for (const f of AMENDMENT_ACTIONS[a].from) {
        const next = AMENDMENT_TRANSITIONS[f] as readonly AmendmentStatus[];
        assert.ok(next.includes(AMENDMENT_ACTIONS[a].to) || a === 'committee_approve', `${a}: ${f} → ${AMENDMENT_ACTIONS[a].to}`);
      }
    }
    for (const from of AMENDMENT_STATUSES) {
      for (const to of AMENDMENT_TRANSITIONS[from] as readonly AmendmentStatus[]) {
        if (to === 'lapsed') continue; // the project ending lapses the amendment, not an action
        assert.ok(AMENDMENT_ACTION_NAMES.some((a) => (AMENDMENT_ACTIONS[a].from as readonly AmendmentStatus[]).includes(from) && AMENDMENT_ACTIONS[a].to === to), `${from} → ${to} has no action`);
      }
    }
  });
});

describe('amending an active permit', () => {
  let f: GovFixture;
  before(async () => {
    f = await openGovFixture();
  });
  after(async () => {
    await f.close();
  });

  const events = async (action: string, projectId: string) => {
    const out = [];
    for await (const l of f.audit.lines()) if (l.event?.action === action && l.event.target === `project:${projectId}`) out.push(l.event);
    return out;
  };

  test('an approved amendment supersedes the permit: a column added becomes readable, one removed is refused, a newly named member gets in', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    // joining the team gives no access: only being named in the permit does
    await gov.addMember(who.applicant, id, who.outsider.personId, 'member');
    assert.equal((await gov.accessDecision(who.outsider, id, cols('PRS_NAT_REF'))).allowed, false);

    await f.amendmentAt(id, 'committee_review', AMENDED);
    // under review: the project is still active and the old permit in force, unchanged
    const during = await gov.getProject(who.applicant, id);
    assert.equal(during.project.status, 'active');
    assert.equal(during.amendment?.status, 'committee_review');
    assert.equal(await gov.canAccessData(who.member, id, cols(...GRANTED)), true);
    assert.equal(await gov.canAccessData(who.member, id, cols('PRS_ACT_QTE')), false);

    const first = await gov.takeAmendment(who.committee1, id, 'committee_approve');
    assert.equal(first.approvalsNeeded, 1);
    assert.equal(await gov.canAccessData(who.member, id, cols('PRS_ACT_QTE')), false, 'one approval changes nothing');
    const done = await gov.takeAmendment(who.committee2, id, 'committee_approve');
    assert.equal(done.amendment.status, 'approved');

    // the very next request is computed from the new permit
    assert.equal(await gov.canAccessData(who.member, id, cols('PRS_ACT_QTE')), true);
    const removed = await gov.accessDecision(who.member, id, cols('EXE_SOI_DTD'));
    assert.equal(removed.allowed, false);
    assert.equal(removed.allowed ? '' : removed.code, 'out_of_scope');
    await rejectsWith(gov.assertCanAccessData(who.member, id, cols('EXE_SOI_DTD')), 'forbidden', /EXE_SOI_DTD .* not in the permit/);
    assert.equal(await gov.canAccessData(who.outsider, id, cols('PRS_ACT_QTE')), true);

    const detail = await gov.getProject(who.applicant, id);
    assert.equal(detail.project.status, 'active');
    assert.equal(detail.amendment, null);
    assert.deepEqual(detail.permits.map((p) => [p.version, p.state]), [[1, 'superseded'], [2, 'active']]);
    assert.equal(detail.project.currentVersion, done.amendment.applicationVersion);
    const entry = (await gov.register()).find((r) => r.projectId === id);
    assert.deepEqual(entry?.versions.map((v) => [v.version, v.state]), [[2, 'active'], [1, 'superseded']]);
    const approvals = await events('governance.amendment.committee_approve', id);
    assert.ok(approvals.some((e) => e.outcome === 'success' && e.details['to'] === 'approved' && e.details['supersedes'] === 1 && e.details['permitVersion'] === 2));
    const notes = await gov.notifications(who.member);
    assert.ok(notes.some((n) => n.projectId === id && n.kind === 'amendment.approved'));
  });

  test('a committee member who approved permit v1 is offered the vote on the amended permit v2, and once they approved v2 no longer is (the server refuses it too)', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    // committee1 and committee2 approved permit version 1 to put it in force
    const v1 = (await gov.getProject(who.applicant, id)).reviews.filter((r) => r.step === 'committee' && r.decision === 'approve');
    assert.deepEqual(new Set(v1.map((r) => [r.reviewerId, r.permitVersion].join(':'))), new Set([`${who.committee1.personId}:1`, `${who.committee2.personId}:1`]));
    await f.amendmentAt(id, 'committee_review', AMENDED);
    const offered = await gov.getAmendment(who.committee1, id);
    assert.equal(offered.proposal?.version, 2);
    assert.ok(offered.actions.includes('committee_approve'), `actions: ${offered.actions.join(', ')}`);

    const after = await gov.takeAmendment(who.committee1, id, 'committee_approve');
    assert.equal(after.approvalsNeeded, 1);
    // the same rule as takeAmendment's: approve is gone for committee1, return and refuse stay
    assert.deepEqual([...after.actions].sort(), ['committee_reject', 'committee_return']);
    await rejectsWith(gov.takeAmendment(who.committee1, id, 'committee_approve'), 'conflict', /already approved this amended permit/);
    assert.ok((await gov.getAmendment(who.committee2, id)).actions.includes('committee_approve'));
  });

  test('a rejected amendment leaves the permit in force untouched, and its proposal lapses', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    const before = (await gov.permits(who.applicant, id)).find((p) => p.state === 'active');
    await f.amendmentAt(id, 'committee_review', AMENDED);
    const d = await gov.takeAmendment(who.committee1, id, 'committee_reject', { comment: 'not justified' });
    assert.equal(d.amendment.status, 'rejected');
    assert.equal(await gov.canAccessData(who.member, id, cols(...GRANTED)), true);
    assert.equal(await gov.canAccessData(who.member, id, cols('PRS_ACT_QTE')), false);
    const permits = await gov.permits(who.applicant, id);
    assert.deepEqual(permits.map((p) => [p.version, p.state]), [[1, 'active'], [2, 'lapsed']]);
    assert.equal(permits[0]?.sha256, before?.sha256);
    assert.equal((await gov.getProject(who.applicant, id)).project.currentVersion, 1, 'the application in force is unchanged');
    // a new amendment may be filed once the first is decided
    await gov.fileAmendment(who.applicant, id, f.amendedApplication(AMENDED));
  });

  test('a returned amendment keeps the permit in force; the principal investigator revises and resubmits it', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    await f.amendmentAt(id, 'ethics_review', AMENDED);
    assert.equal((await gov.takeAmendment(who.ethics, id, 'ethics_return', { comment: 'justify PRS_ACT_QTE' })).amendment.status, 'changes_requested');
    assert.equal(await gov.canAccessData(who.member, id, cols(...GRANTED)), true);
    const revised = await gov.reviseAmendment(who.applicant, id, f.amendedApplication([...AMENDED, 'EXE_SOI_DTD']));
    assert.ok(revised.changes.some((c) => c.path.startsWith('/requestedScope/datasets/0/tables/0/columns')));
    assert.equal((await gov.takeAmendment(who.applicant, id, 'submit')).amendment.status, 'submitted');
  });

  test('a self-review of the amendment is refused with a clear error and audited', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    // the ethics reviewer joins the team while the permit is in force: they may no longer review it
    await gov.addMember(who.applicant, id, who.ethics.personId, 'member');
    await f.amendmentAt(id, 'ethics_review', AMENDED);
    await rejectsWith(gov.takeAmendment(who.ethics, id, 'ethics_favourable'), 'forbidden', /four eyes: nobody reviews or decides on a project they belong to/);
    await rejectsWith(gov.takeAmendment(who.applicant, id, 'accept_complete'), 'forbidden', /access_committee role/);
    const denied = await events('governance.amendment.ethics_favourable', id);
    assert.deepEqual(denied.map((e) => e.outcome), ['denied']);
    assert.equal((await gov.getAmendment(who.applicant, id)).amendment.status, 'ethics_review');
  });

  test('a one-person decision on the amendment is refused: the same committee member cannot approve twice', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    await f.amendmentAt(id, 'committee_review', AMENDED);
    await gov.takeAmendment(who.committee1, id, 'committee_approve');
    await rejectsWith(gov.takeAmendment(who.committee1, id, 'committee_approve'), 'conflict', /second, different committee member/);
    assert.equal((await gov.getAmendment(who.committee1, id)).amendment.status, 'committee_review');
    assert.equal(await gov.canAccessData(who.member, id, cols('PRS_ACT_QTE')), false);
  });

  test('an amendment past the permit\'s expiry is refused: filed after it, running beyond it, or approved after it', async () => {
    const { gov, who } = f;
    const base = new Date('2026-03-01T10:00:00Z');
    try {
      // the permit runs to 2027-02-28 inclusive
      const late = await f.projectAt('active');
      f.setNow(new Date('2027-03-01T08:00:00Z'));
      await rejectsWith(gov.fileAmendment(who.applicant, late, f.amendedApplication(AMENDED)), 'conflict', /the permit expired on 2027-02-28: an amendment cannot be filed past the permit's expiry/);
      f.setNow(base);

      const longer = await f.projectAt('active');
      await f.amendmentAt(longer, 'legal_review', AMENDED);
      await gov.takeAmendment(who.legal, longer, 'legal_approve');
      const doc = await gov.amendedPermitTemplate(who.committee1, longer);
      await rejectsWith(gov.proposeAmendedPermit(who.committee1, longer, { ...doc, validUntil: '2027-06-30' }), 'invalid', /past the expiry of the permit in force \(2027-02-28\)/);

      const slow = await f.projectAt('active');
      await f.amendmentAt(slow, 'committee_review', AMENDED);
      await gov.takeAmendment(who.committee1, slow, 'committee_approve');
      f.setNow(new Date('2027-03-02T08:00:00Z'));
      await rejectsWith(gov.takeAmendment(who.committee2, slow, 'committee_approve'), 'conflict', /expired on 2027-02-28: an amendment cannot be approved/);
      f.setNow(base);
      assert.deepEqual((await gov.permits(who.applicant, slow)).map((p) => p.state), ['active', 'proposed']);
    } finally {
      f.setNow(base);
    }
  });

  test('only the principal investigator of an active project files an amendment, one at a time, and it must change something', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    await rejectsWith(gov.fileAmendment(who.member, id, f.amendedApplication(AMENDED)), 'forbidden', /only the principal investigator files an amendment/);
    await rejectsWith(gov.fileAmendment(who.applicant, id, f.application()), 'invalid', /changes nothing/);
    await gov.fileAmendment(who.applicant, id, f.amendedApplication(AMENDED));
    await rejectsWith(gov.fileAmendment(who.applicant, id, f.amendedApplication(GRANTED)), 'conflict', /already under way/);
    const review = await f.projectAt('committee_review');
    await rejectsWith(gov.fileAmendment(who.applicant, review, f.amendedApplication(AMENDED)), 'conflict', /only an active permit can be amended/);
  });

  test('revoking the project lapses its open amendment', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    await f.amendmentAt(id, 'committee_review', AMENDED);
    await gov.take(who.committee1, id, 'revoke');
    const d = await gov.getAmendment(who.applicant, id);
    assert.equal(d.amendment.status, 'lapsed');
    assert.deepEqual((await gov.permits(who.applicant, id)).map((p) => p.state), ['ended', 'lapsed']);
    await rejectsWith(gov.takeAmendment(who.committee2, id, 'committee_approve'), 'conflict', /no amendment under way/);
  });
});
