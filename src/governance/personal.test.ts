/**
 * A person's own governance bookkeeping: notification settings (audited; e-mail off means the
 * mailer finds no address), "mark all read" with the unread count, and drafts of applications
 * that only their writer sees. Real services on PGlite or PostgreSQL (ENCLAVE_TEST_DB).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture } from '../../test/helpers/governance.ts';
import { AppError } from '../errors.ts';

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    return e.code;
  }
  return 'none';
};

describe('personal governance bookkeeping', () => {
  let f: GovFixture;
  before(async () => {
    f = await openGovFixture();
  });
  after(async () => {
    await f.close();
  });

  /** Successful events of `action` (a refused or failed attempt is audited too, as a failure). */
  const events = async (action: string): Promise<{ target: string; details: unknown }[]> =>
    (await f.t.db.query<{ target: string; details: unknown }>("SELECT target, details FROM audit_events WHERE action = $1 AND outcome = 'success' ORDER BY seq", [action]));

  test('status changes notify the team; the unread count drops to 0 once all are marked read, and only mine', async () => {
    const id = await f.projectAt('ethics_review');
    const before = await f.gov.unreadCount(f.who.applicant);
    assert.ok(before >= 2, `applicant has ${before} unread`);
    const memberUnread = await f.gov.unreadCount(f.who.member);
    assert.ok(memberUnread >= 1);
    assert.equal(await f.gov.markAllRead(f.who.applicant), before);
    assert.equal(await f.gov.unreadCount(f.who.applicant), 0);
    assert.equal(await f.gov.markAllRead(f.who.applicant), 0);
    assert.equal(await f.gov.unreadCount(f.who.member), memberUnread, 'another person\'s notifications are untouched');
    assert.ok((await f.gov.notifications(f.who.applicant)).every((n) => n.readAt !== null && (n.projectId === id || n.projectId !== null)));
  });

  test('e-mail is on by default; turning it off is audited and seen by wantsEmail', async () => {
    assert.deepEqual(await f.gov.notificationSettings(f.who.member), { email: true });
    assert.equal(await f.gov.wantsEmail(f.who.member.personId), true);
    assert.deepEqual(await f.gov.setNotificationSettings(f.who.member, { email: false }, 'req-1'), { email: false });
    assert.equal(await f.gov.wantsEmail(f.who.member.personId), false);
    assert.deepEqual(await f.gov.notificationSettings(f.who.member), { email: false });
    const ev = await events('governance.notification.settings');
    assert.equal(ev.at(-1)?.target, `person:${f.who.member.personId}`);
    assert.equal(await code(f.gov.setNotificationSettings(f.who.member, { email: 'no' })), 'invalid');
    await f.gov.setNotificationSettings(f.who.member, { email: true });
    assert.equal(await f.gov.wantsEmail(f.who.member.personId), true);
  });

  test('a draft is saved, read back and saved again by its writer only; deleting it is audited', async () => {
    const d = await f.gov.saveDraft(f.who.applicant, null, { content: { title: 'Statines', requestedScope: { tables: ['ER_PHA_F'] } }, step: 2 });
    assert.equal(d.step, 2);
    assert.deepEqual(d.content, { title: 'Statines', requestedScope: { tables: ['ER_PHA_F'] } });
    const again = await f.gov.saveDraft(f.who.applicant, d.id, { content: { title: 'Statines et démence' }, step: 3 });
    assert.equal(again.id, d.id);
    assert.deepEqual((await f.gov.getDraft(f.who.applicant, d.id)).content, { title: 'Statines et démence' });
    assert.deepEqual((await f.gov.listDrafts(f.who.applicant)).map((x) => x.id).includes(d.id), true);
    // another applicant neither sees nor overwrites it
    assert.equal(await code(f.gov.getDraft(f.who.member, d.id)), 'not_found');
    assert.equal(await code(f.gov.saveDraft(f.who.member, d.id, { content: {}, step: 0 })), 'not_found');
    assert.equal((await f.gov.listDrafts(f.who.member)).some((x) => x.id === d.id), false);
    // a reviewer without the applicant role keeps no drafts
    assert.equal(await code(f.gov.saveDraft(f.who.ethics, null, { content: {}, step: 0 })), 'forbidden');
    // bad shapes are said
    assert.equal(await code(f.gov.saveDraft(f.who.applicant, null, { content: [], step: 0 })), 'invalid');
    assert.equal(await code(f.gov.saveDraft(f.who.applicant, null, { content: {}, step: -1 })), 'invalid');
    assert.equal(await code(f.gov.saveDraft(f.who.applicant, null, { content: { x: 'a'.repeat(200_001) } })), 'invalid');
    await f.gov.deleteDraft(f.who.applicant, d.id, 'req-2');
    assert.equal(await code(f.gov.getDraft(f.who.applicant, d.id)), 'not_found');
    assert.equal(await code(f.gov.deleteDraft(f.who.applicant, d.id)), 'not_found');
    const saved = await events('governance.draft.save');
    assert.equal(saved.filter((e) => e.target === `draft:${d.id}`).length, 2);
    assert.equal((await events('governance.draft.delete')).filter((e) => e.target === `draft:${d.id}`).length, 1);
  });

  test('a project\'s detail names its team and reviewers (name and organisation, no e-mail)', async () => {
    const id = await f.projectAt('legal_review');
    const d = await f.gov.getProject(f.who.applicant, id);
    const ids = [...new Set([d.project.createdBy, ...d.project.members.map((m) => m.personId), ...d.reviews.map((r) => r.reviewerId)])];
    assert.ok(ids.length >= 3, 'team and at least one reviewer');
    for (const pid of ids) assert.ok(d.people[pid] !== undefined, `no name for ${pid}`);
    assert.equal(d.people[f.who.applicant.personId]?.displayName, 'applicant');
    assert.equal(d.people[f.who.ethics.personId]?.displayName, 'ethics');
    assert.equal(d.people[f.who.ethics.personId]?.organisation, 'test');
    assert.ok(Object.values(d.people).every((p) => !('email' in p)));
  });

  test('a project\'s audit trail lists its events with who acted by name; an outsider is refused and the refusal recorded', async () => {
    const id = await f.projectAt('ethics_review');
    const trail = await f.gov.projectTrail(f.who.applicant, id, 'req-trail');
    const actions = trail.events.map((e) => e.action);
    assert.ok(actions.includes('governance.project.create'), actions.join());
    assert.ok(actions.some((a) => a.includes('submit')), actions.join());
    const create = trail.events.find((e) => e.action === 'governance.project.create');
    assert.equal(trail.people[create?.actorId ?? '']?.displayName, 'applicant');
    assert.ok(trail.events.every((e, i) => i === 0 || e.seq > (trail.events[i - 1]?.seq ?? -1)), 'oldest first');
    assert.equal(await code(f.gov.projectTrail(f.who.outsider, id)), 'forbidden');
    const reads = await f.t.db.query<{ n: string | number }>("SELECT count(*) AS n FROM audit_events WHERE action = 'audit.history' AND target = $1", [`project:${id}`]);
    assert.equal(Number(reads[0]?.n), 1, 'the applicant\'s read is recorded');
  });

  test('approve is no longer offered to a committee member whose vote counts for the current proposal, and is again for a new proposal', async () => {
    const id = await f.projectAt('committee_review');
    await f.gov.proposePermit(f.who.committee1, id, await f.permitFor(id));
    assert.ok((await f.gov.getProject(f.who.committee1, id)).actions.includes('committee_approve'));
    await f.gov.take(f.who.committee1, id, 'committee_approve');
    const after1 = (await f.gov.getProject(f.who.committee1, id)).actions;
    assert.ok(!after1.includes('committee_approve'), after1.join());
    assert.ok(after1.includes('committee_return') && after1.includes('committee_reject'), 'return and refuse stay open');
    assert.ok((await f.gov.getProject(f.who.committee2, id)).actions.includes('committee_approve'), 'the other member still votes');
    // a new proposal (permit version 2) opens the vote again for the first member
    await f.gov.proposePermit(f.who.committee1, id, await f.permitFor(id));
    assert.ok((await f.gov.getProject(f.who.committee1, id)).actions.includes('committee_approve'));
  });

  test('a principal investigator adds a colleague by e-mail (case ignored); unknown and malformed addresses are said, others refused', async () => {
    const id = await f.projectAt('draft');
    const colleague = await f.identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject: 'colleague', displayName: 'Colleague', email: 'Colleague@Example.org', organisation: 'test' });
    const p = await f.gov.addMemberByEmail(f.who.applicant, id, ' colleague@example.ORG ', 'member');
    assert.ok(p.members.some((m) => m.personId === colleague && m.role === 'member'));
    assert.equal(await code(f.gov.addMemberByEmail(f.who.applicant, id, 'nobody@example.org', 'member')), 'not_found');
    assert.equal(await code(f.gov.addMemberByEmail(f.who.applicant, id, 'not an address', 'member')), 'invalid');
    assert.equal(await code(f.gov.addMemberByEmail(f.who.outsider, id, 'colleague@example.org', 'member')), 'forbidden');
  });
});
