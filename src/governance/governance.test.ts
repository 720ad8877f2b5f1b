import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture } from '../../test/helpers/governance.ts';
import { AppError } from '../errors.ts';
import {
  ACTION_NAMES, ACTIONS, canMove, MAX_POTENTIAL_IDENTIFIERS, PROJECT_STATUSES, potentialIdentifierProblems, TRANSITIONS, type ProjectStatus,
} from './index.ts';

const rejectsWith = async (p: Promise<unknown>, code: string, pattern?: RegExp): Promise<AppError> => {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AppError, `expected AppError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern !== undefined) assert.match(caught.message, pattern);
  assert.ok(caught.hint !== undefined && caught.hint.length > 0, 'every refusal carries a hint');
  return caught;
};

describe('workflow table', () => {
  test('every status has an entry and every action edge is in the transition table', () => {
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), [...PROJECT_STATUSES].sort());
    for (const a of ACTION_NAMES) for (const f of ACTIONS[a].from) assert.ok(canMove(f, ACTIONS[a].to) || (a === 'committee_approve'), `${a}: ${f} → ${ACTIONS[a].to}`);
  });
  test('every edge of the transition table is reachable by some action', () => {
    for (const from of PROJECT_STATUSES) {
      for (const to of TRANSITIONS[from] as readonly ProjectStatus[]) {
        assert.ok(ACTION_NAMES.some((a) => (ACTIONS[a].from as readonly ProjectStatus[]).includes(from) && ACTIONS[a].to === to), `${from} → ${to} has no action`);
      }
    }
  });
  test('terminal statuses allow no action', () => {
    for (const s of ['expired', 'closed', 'revoked', 'rejected', 'withdrawn'] as const) {
      assert.equal(TRANSITIONS[s].length, 0);
      assert.ok(ACTION_NAMES.every((a) => !(ACTIONS[a].from as readonly string[]).includes(s)));
    }
  });
});

describe('potential-identifier rule', () => {
  const col = (i: number) => `snds.ER_PRS_F.C${i}`;
  test(`${MAX_POTENTIAL_IDENTIFIERS - 1}, ${MAX_POTENTIAL_IDENTIFIERS} columns pass; ${MAX_POTENTIAL_IDENTIFIERS + 1} without exception fail`, () => {
    assert.deepEqual(potentialIdentifierProblems([], undefined), []);
    assert.deepEqual(potentialIdentifierProblems([col(1)], undefined), []);
    assert.equal(potentialIdentifierProblems([col(1), col(2)], undefined).length, 1);
  });
  test('an exception must name every potential identifier granted', () => {
    const justification = 'x'.repeat(40);
    assert.deepEqual(potentialIdentifierProblems([col(1), col(2)], { columns: [col(1), col(2)], justification }), []);
    assert.equal(potentialIdentifierProblems([col(1), col(2), col(3)], { columns: [col(1), col(2)], justification }).length, 1);
  });
});

describe('governance service', () => {
  let f: GovFixture;
  before(async () => {
    f = await openGovFixture();
  });
  after(async () => {
    await f.close();
  });

  const events = async (action: string) => {
    const out = [];
    for await (const l of f.audit.lines()) if (l.event?.action === action) out.push(l.event);
    return out;
  };

  test('a project goes from application to active permit, each step by a different person', async () => {
    const { gov, who } = f;
    const p = await gov.createProject(who.applicant, f.application());
    assert.equal(p.status, 'draft');
    await gov.addMember(who.applicant, p.id, who.member.personId, 'member');
    assert.equal((await gov.take(who.applicant, p.id, 'submit')).project.status, 'submitted');
    assert.equal((await gov.take(who.committee1, p.id, 'accept_complete')).project.status, 'ethics_review');
    assert.equal((await gov.take(who.ethics, p.id, 'ethics_favourable', { reference: 'CESREES-2026-001' })).project.status, 'legal_review');
    assert.equal((await gov.take(who.legal, p.id, 'legal_approve', { reference: 'MR-004' })).project.status, 'committee_review');
    const permit = await gov.proposePermit(who.committee1, p.id, await f.permitFor(p.id));
    assert.equal(permit.version, 1);
    const first = await gov.take(who.committee1, p.id, 'committee_approve');
    assert.equal(first.project.status, 'committee_review');
    assert.equal(first.approvalsNeeded, 1);
    const done = await gov.take(who.committee2, p.id, 'committee_approve');
    assert.equal(done.project.status, 'active');
    assert.equal(done.permits[0]?.state, 'active');
    assert.equal(await gov.canAccessData(who.member, p.id, { dataset: 'snds', table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }), true);
    const approvals = await events('governance.project.committee_approve');
    assert.ok(approvals.some((e) => e.outcome === 'success' && e.details['to'] === 'active' && e.details['permitSha256'] === permit.sha256));
    const keys = await f.t.db.query<{ purpose: string }>("SELECT purpose FROM data_keys WHERE scope = 'project' AND scope_id = $1 ORDER BY purpose", [p.id]);
    assert.deepEqual(keys.map((k) => k.purpose), ['encryption', 'pseudonymisation']);
  });

  test('a self-review is refused with a clear error and audited as denied', async () => {
    const { gov, who } = f;
    const p = await gov.createProject(who.applicant, f.application());
    await gov.addMember(who.applicant, p.id, who.ethics.personId, 'member');
    await gov.take(who.applicant, p.id, 'submit');
    await gov.take(who.committee1, p.id, 'accept_complete');
    await rejectsWith(gov.take(who.ethics, p.id, 'ethics_favourable'), 'forbidden', /four eyes/);
    const denied = (await events('governance.project.ethics_favourable')).filter((e) => e.target === `project:${p.id}`);
    assert.deepEqual(denied.map((e) => e.outcome), ['denied']);
    assert.equal((await gov.getProject(who.applicant, p.id)).project.status, 'ethics_review');
  });

  test('the applicant cannot approve their own project even with a reviewer role', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('submitted');
    await rejectsWith(gov.take(who.applicant, id, 'accept_complete'), 'forbidden');
  });

  test('a one-person decision is refused: the same committee member cannot approve twice', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('committee_review');
    await gov.proposePermit(who.committee1, id, await f.permitFor(id));
    await gov.take(who.committee1, id, 'committee_approve');
    await rejectsWith(gov.take(who.committee1, id, 'committee_approve'), 'conflict', /second, different committee member/);
    assert.equal((await gov.getProject(who.committee1, id)).project.status, 'committee_review');
    const failed = (await events('governance.project.committee_approve')).filter((e) => e.target === `project:${id}` && e.outcome !== 'success');
    assert.equal(failed.length, 1);
  });

  test('a new permit proposal makes earlier approvals lapse', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('committee_review');
    await gov.proposePermit(who.committee1, id, await f.permitFor(id));
    await gov.take(who.committee1, id, 'committee_approve');
    await gov.proposePermit(who.committee2, id, await f.permitFor(id, { tools: ['web_sql', 'database_protocol'] }));
    const d = await gov.take(who.committee2, id, 'committee_approve');
    assert.equal(d.project.status, 'committee_review');
    assert.equal((await gov.take(who.committee1, id, 'committee_approve')).project.status, 'active');
  });

  test('a permit with a column not in the catalogue is refused with its path', async () => {
    const id = await f.projectAt('committee_review');
    const doc = await f.permitFor(id, { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'NOT_A_COLUMN'] }] }] });
    await rejectsWith(f.gov.proposePermit(f.who.committee1, id, doc), 'invalid', /columns\/1: snds\.ER_PRS_F has no column NOT_A_COLUMN/);
  });

  test('a direct identifier is never granted', async () => {
    const id = await f.projectAt('committee_review');
    const doc = await f.permitFor(id, { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR'] }] }] });
    await rejectsWith(f.gov.proposePermit(f.who.committee1, id, doc), 'invalid', /direct identifier/);
  });

  test('two potential identifiers need a justified exception naming both', async () => {
    const id = await f.projectAt('committee_review');
    const datasets = [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['EXE_SOI_DTD', 'BEN_NAI_ANN'] }] }];
    await rejectsWith(f.gov.proposePermit(f.who.committee1, id, await f.permitFor(id, { datasets })), 'invalid', /2 distinct potential identifiers requested \(snds\.ER_PRS_F\.BEN_NAI_ANN, snds\.ER_PRS_F\.EXE_SOI_DTD\)/);
    const ok = await f.gov.proposePermit(f.who.committee1, id, await f.permitFor(id, {
      datasets,
      potentialIdentifierException: { columns: ['snds.ER_PRS_F.EXE_SOI_DTD', 'snds.ER_PRS_F.BEN_NAI_ANN'], justification: 'Age at exposure and exact dispensing dates are both needed to model time-varying exposure.' },
    }));
    assert.equal(ok.state, 'proposed');
  });

  test('a permit that fails the published schema is refused listing each violation', async () => {
    const id = await f.projectAt('committee_review');
    const doc = { ...(await f.permitFor(id)), tools: ['ftp'], extra: 1 };
    const e = await rejectsWith(f.gov.proposePermit(f.who.committee1, id, doc), 'invalid', /permit schema/);
    assert.ok((e.details?.['problems'] as string[]).length >= 2);
  });

  test('access after expiry is refused and audited, without any job running', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    assert.equal(await gov.canAccessData(who.member, id), true);
    f.setNow(new Date('2027-03-01T00:00:01Z'));
    try {
      await rejectsWith(gov.assertCanAccessData(who.member, id, { tool: 'web_sql' }), 'forbidden', /expired on 2027-02-28/);
    } finally {
      f.setNow(new Date('2026-03-01T10:00:00Z'));
    }
    const denied = (await events('governance.access')).filter((e) => e.target === `project:${id}`);
    assert.equal(denied.at(-1)?.outcome, 'denied');
    assert.equal(denied.at(-1)?.details['reason'], 'expired');
  });

  test('on the last valid day access is still allowed', async () => {
    const id = await f.projectAt('active');
    f.setNow(new Date('2027-02-28T23:59:59Z'));
    try {
      assert.equal(await f.gov.canAccessData(f.who.member, id), true);
    } finally {
      f.setNow(new Date('2026-03-01T10:00:00Z'));
    }
  });

  test('suspension cuts access at once and reinstatement restores it', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    await gov.take(who.committee2, id, 'suspend');
    await rejectsWith(gov.assertCanAccessData(who.member, id), 'forbidden', /suspended/);
    await gov.take(who.committee2, id, 'reinstate');
    assert.equal(await gov.canAccessData(who.member, id), true);
  });

  test('revocation ends access for good', async () => {
    const id = await f.projectAt('revoked');
    assert.equal(await f.gov.canAccessData(f.who.applicant, id), false);
    await rejectsWith(f.gov.take(f.who.committee1, id, 'reinstate'), 'conflict');
  });

  test('a column outside the permit and a person not named are refused', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    await rejectsWith(gov.assertCanAccessData(who.member, id, { dataset: 'snds', table: 'ER_PRS_F', columns: ['BEN_NAI_ANN'] }), 'forbidden', /not in the permit/);
    await rejectsWith(gov.assertCanAccessData(who.outsider, id), 'forbidden', /not named/);
    await rejectsWith(gov.assertCanAccessData(who.committee1, id), 'forbidden', /not named/);
  });

  test('a dataset outside the permit is refused even when no table is named', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    await rejectsWith(gov.assertCanAccessData(who.member, id, { dataset: 'other_dataset' }), 'forbidden', /dataset other_dataset is not in the permit/);
    assert.equal((await gov.accessDecision(who.member, id, { dataset: 'other_dataset', tool: 'web_sql' })).allowed, false);
    assert.equal(await gov.canAccessData(who.member, id, { dataset: 'snds' }), true);
  });

  test('a table or columns asked without their dataset or table are refused', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    await rejectsWith(gov.assertCanAccessData(who.member, id, { table: 'ER_PRS_F' }), 'forbidden', /without their dataset/);
    await rejectsWith(gov.assertCanAccessData(who.member, id, { columns: ['PRS_NAT_REF'] }), 'forbidden', /without their dataset/);
    await rejectsWith(gov.assertCanAccessData(who.member, id, { dataset: 'snds', columns: ['PRS_NAT_REF'] }), 'forbidden', /without their table/);
    assert.equal(await gov.canAccessData(who.member, id, { dataset: 'snds', table: 'er_prs_f', columns: ['prs_nat_ref'] }), true);
  });

  test('years outside the permit are refused, at each boundary', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active'); // permit years 2019-2023
    const at = async (from: number, to: number) => (await gov.accessDecision(who.member, id, { dataset: 'snds', years: { from, to } })).allowed;
    assert.equal(await at(2019, 2023), true);
    assert.equal(await at(2021, 2021), true);
    assert.equal(await at(2018, 2023), false);
    assert.equal(await at(2019, 2024), false);
    assert.equal(await at(2022, 2020), false);
    await rejectsWith(gov.assertCanAccessData(who.member, id, { years: { from: 2024, to: 2024 } }), 'forbidden', /not within the permit's years 2019-2023/);
  });

  test('the permit returned by an access check is the one the decision was made on', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('active');
    const decision = await gov.accessDecision(who.member, id, { dataset: 'snds', table: 'ER_PRS_F' });
    assert.ok(decision.allowed);
    assert.deepEqual(await gov.assertCanAccessData(who.member, id, { dataset: 'snds' }), decision.permit);
    assert.equal(decision.permit.projectId, id);
  });

  test('a tool the permit does not allow is refused', async () => {
    const id = await f.projectAt('active');
    await rejectsWith(f.gov.assertCanAccessData(f.who.member, id, { tool: 'database_protocol' }), 'forbidden', /does not allow database_protocol/);
  });

  test('returned applications are edited, versioned, diffable and resubmitted', async () => {
    const { gov, who } = f;
    const id = await f.projectAt('changes_requested');
    const v2 = await gov.updateApplication(who.applicant, id, f.application({ purpose: 'A narrower purpose.' }));
    assert.equal(v2.version, 2);
    assert.deepEqual(await gov.diff(who.committee1, id, 1, 2), [{ path: '/purpose', before: 'Estimate the association between statin use and dementia onset.', after: 'A narrower purpose.' }]);
    assert.equal((await gov.take(who.applicant, id, 'submit')).project.status, 'submitted');
    await rejectsWith(gov.updateApplication(who.applicant, id, f.application()), 'conflict', /cannot be edited while the project is submitted/);
  });

  test('a member who is not the principal investigator cannot submit or edit', async () => {
    const id = await f.projectAt('draft');
    await rejectsWith(f.gov.take(f.who.member, id, 'submit'), 'forbidden', /principal investigator/);
    await rejectsWith(f.gov.updateApplication(f.who.member, id, f.application()), 'forbidden');
  });

  test('an incomplete application is refused listing what is missing', async () => {
    const e = await rejectsWith(f.gov.createProject(f.who.applicant, { title: 'x' }), 'invalid');
    assert.ok((e.details?.['problems'] as string[]).some((p) => p.startsWith('/purpose')));
  });

  test('people outside the project and without an oversight role cannot see it', async () => {
    const id = await f.projectAt('draft');
    await rejectsWith(f.gov.getProject(f.who.outsider, id), 'forbidden');
    await rejectsWith(f.gov.getProject(f.who.checker, id), 'forbidden');
    assert.equal((await f.gov.getProject(f.who.auditor, id)).project.id, id);
  });

  test('the public register lists permits in force without naming people', async () => {
    const id = await f.projectAt('active');
    const entry = (await f.gov.register()).find((e) => e.projectId === id);
    assert.ok(entry);
    assert.deepEqual(entry.datasets, ['snds']);
    assert.equal(entry.validUntil, '2027-02-28');
    const text = JSON.stringify(entry);
    for (const k of ['applicant', 'member', 'committee1'] as const) assert.ok(!text.includes(f.who[k].personId));
  });

  test('state changes notify the team and the next reviewers', async () => {
    const id = await f.projectAt('submitted');
    const n = await f.gov.notifications(f.who.committee2, true);
    const mine = n.find((x) => x.projectId === id);
    assert.ok(mine);
    assert.equal(mine.kind, 'project.submitted');
    await f.gov.markRead(f.who.committee2, mine.id);
    assert.ok(!(await f.gov.notifications(f.who.committee2, true)).some((x) => x.id === mine.id));
  });
});
