/**
 * Separation of duties in identity and its effect on governance (issue 11): nobody changes their
 * own roles; a reviewing role is granted or removed by two admins; whoever changed a project's
 * reviewers during its review (or its amendment's) takes no review step on it. The route-level
 * attempts and the SECURITY-TESTS 10 figure are in src/http/routes/governance.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture } from '../../test/helpers/governance.ts';
import { AppError } from '../errors.ts';
import type { Principal, Role } from './index.ts';

const rejectsWith = async (p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
};

describe('role changes: separation of duties', () => {
  let f: GovFixture;
  let admin2: Principal;
  let adminCommittee: Principal;
  const person = async (subject: string, roles: readonly Role[]): Promise<Principal> => {
    const id = await f.identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject, displayName: subject, email: null, organisation: 'test' });
    await f.identity.seedRoles({ kind: 'service', id: 'test' }, id, roles);
    return f.identity.principalOf(id, 'session');
  };
  before(async () => {
    f = await openGovFixture();
    admin2 = await person('admin2', ['admin']);
    adminCommittee = await person('admin-committee', ['admin', 'access_committee']);
  });
  after(async () => {
    await f.close();
  });

  const events = async (action: string) => {
    const out = [];
    for await (const l of f.audit.lines()) if (l.event?.action === action) out.push(l.event);
    return out;
  };

  test('nobody changes their own roles, whatever the role, and the refusal is audited', async () => {
    for (const role of ['access_committee', 'applicant', 'auditor'] as const) {
      await rejectsWith(f.identity.grantRole(f.who.admin, f.who.admin.personId, role), 'forbidden', /nobody changes their own roles/);
    }
    await rejectsWith(f.identity.revokeRole(f.who.admin, f.who.admin.personId, 'admin'), 'forbidden', /nobody changes their own roles/);
    assert.deepEqual((await f.identity.requirePerson(f.who.admin.personId)).roles, ['admin']);
    assert.ok((await events('identity.role.propose')).some((e) => e.outcome === 'denied' && e.actor.id === f.who.admin.personId));
  });

  test('removing a reviewing role also takes a second admin; the role holds until then', async () => {
    const checker = await person('checker-2', ['output_checker']);
    const c = await f.identity.revokeRole(f.who.admin, checker.personId, 'output_checker');
    assert.equal(c.state, 'pending');
    assert.deepEqual((await f.identity.requirePerson(checker.personId)).roles, ['output_checker']);
    await rejectsWith(f.identity.decideRoleChange(f.who.admin, c.id, 'approve'), 'forbidden', /four eyes/);
    await rejectsWith(f.identity.decideRoleChange(f.who.committee1, c.id, 'approve'), 'forbidden', /only an admin/);
    const done = await f.identity.decideRoleChange(admin2, c.id, 'approve');
    assert.equal(done.state, 'applied');
    assert.deepEqual((await f.identity.requirePerson(checker.personId)).roles, []);
    const approve = (await events('identity.role.approve')).find((e) => e.target === `role-change:${c.id}` && e.outcome === 'success');
    assert.equal(approve?.actor.id, admin2.personId);
    assert.equal(approve?.details['proposedBy'], f.who.admin.personId);
    assert.equal((await f.identity.listRoleChanges('pending')).some((x) => x.id === c.id), false);
  });

  test('a role outside review is changed by one admin at once, and recorded', async () => {
    const p = await person('operator-2', []);
    const c = await f.identity.grantRole(f.who.admin, p.personId, 'operator');
    assert.equal(c.state, 'applied');
    assert.deepEqual((await f.identity.requirePerson(p.personId)).roles, ['operator']);
    await rejectsWith(f.identity.grantRole(f.who.admin, p.personId, 'operator'), 'conflict', /already has the role operator/);
    await rejectsWith(f.identity.grantRole(f.who.admin, p.personId, 'superuser'), 'invalid', /unknown role superuser/);
    await rejectsWith(f.identity.grantRole(f.who.admin, p.personId, ''), 'invalid', /role is required/);
  });

  test('nobody votes on an amendment whose reviewers they changed during its review', async () => {
    const id = await f.projectAt('active');
    await f.amendmentAt(id, 'committee_review', ['BEN_NIR_PSA', 'PRS_NAT_REF', 'PRS_ACT_QTE']);
    const newcomer = await person('ethics-2', []);
    const c = await f.identity.grantRole(adminCommittee, newcomer.personId, 'ethics_reviewer');
    await f.identity.decideRoleChange(f.who.admin, c.id, 'approve');
    await rejectsWith(f.gov.takeAmendment(adminCommittee, id, 'committee_approve'), 'forbidden', /you changed who reviews this project/);
    assert.deepEqual((await f.gov.getAmendment(adminCommittee, id)).actions, []);
    // someone who changed nothing still votes
    assert.equal((await f.gov.takeAmendment(f.who.committee1, id, 'committee_approve')).amendment.status, 'committee_review');
  });

  test('a change that was rejected, or made before the review began, does not bar the vote', async () => {
    const p = await person('legal-2', []);
    const rejected = await f.identity.grantRole(adminCommittee, p.personId, 'legal_reviewer');
    await f.identity.decideRoleChange(f.who.admin, rejected.id, 'reject');
    const id = await f.projectAt('committee_review');
    await f.gov.proposePermit(f.who.committee1, id, await f.permitFor(id));
    assert.ok((await f.gov.getProject(adminCommittee, id)).actions.includes('committee_approve'));
    assert.equal((await f.gov.take(adminCommittee, id, 'committee_approve')).project.status, 'committee_review');
  });
});
