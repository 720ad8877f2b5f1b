/**
 * Notification e-mail through a real SMTP server on loopback (smtp-server, with AUTH), each
 * message parsed back with mailparser: a real project driven through the governance service
 * from application to active permit, each state change checked for who got which message. Then
 * a mail server that is down, one that hangs, and one that refuses a recipient: the transition
 * happens all the same, at once, and the failure is logged and in the audit log.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { openGovFixture, PEOPLE, type GovFixture, type PersonKey } from '../../test/helpers/governance.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { loadConfig } from '../config.ts';
import { isAppError } from '../errors.ts';
import { GovernanceService } from '../governance/index.ts';
import { composeStatusMail, SmtpMailer, withDefaultTimeouts, type StatusNotice } from './index.ts';

const PORTAL = 'https://enclave.example.org';
const FROM = 'Enclave <enclave@example.org>';
const NOW = new Date('2026-03-01T10:00:00Z');
const emailOf = (k: PersonKey): string => `${k}@hospital.example`;

interface Received {
  readonly to: readonly string[];
  readonly mail: ParsedMail;
}

/** An SMTP server on a free loopback port that wants AUTH (PLAIN/LOGIN over the loopback) and keeps what it receives. */
async function startSmtp(o: { refuse?: (address: string) => boolean } = {}): Promise<{ server: SMTPServer; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: false, allowInsecureAuth: true, disabledCommands: ['STARTTLS'], logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'enclave' && auth.password === 'p@ss word') cb(null, { user: 'enclave' });
      else cb(new Error('invalid credentials'));
    },
    onRcptTo(address, _session, cb) {
      if (o.refuse?.(address.address) === true) cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      else cb();
    },
    onData(stream, session, cb) {
      simpleParser(stream).then((mail) => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), mail });
        cb();
      }, (e: unknown) => cb(e as Error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { server, port: addr.port, received };
}
const stopSmtp = (s: SMTPServer): Promise<void> => new Promise((resolve) => s.close(() => resolve()));
const smtpUrl = (port: number): string => `smtp://enclave:${encodeURIComponent('p@ss word')}@127.0.0.1:${port}`;

/** The fixture's governance, again, with a mailer. */
function governanceWith(f: GovFixture, mailer: SmtpMailer): GovernanceService {
  return new GovernanceService({
    db: f.t.db, audit: f.audit, now: () => NOW, mailer,
    catalog: (d, t) => f.catalog.getTable(d, t),
    people: f.identity.peopleDirectory(),
  });
}

function mailerFor(f: GovFixture, url: string, log: string[]): SmtpMailer {
  return new SmtpMailer({ url, from: FROM, portalUrl: PORTAL, audit: f.audit, log: (l) => log.push(l), directory: { emailOf: async (id) => (await f.identity.getPerson(id))?.email ?? null } });
}

async function failureEvents(f: GovFixture, projectId: string): Promise<{ outcome: string; actor_id: string; details: Record<string, unknown> }[]> {
  return f.t.db.query("SELECT outcome, actor_id, details FROM audit_events WHERE action = 'notification.email' AND target = $1 ORDER BY seq", [`project:${projectId}`]);
}

describe('notification e-mail through SMTP', () => {
  let f: GovFixture;
  const key = new Map<string, PersonKey>();
  before(async () => {
    f = await openGovFixture();
    // Each person logs in once with the e-mail address their identity provider gives.
    for (const k of PEOPLE) {
      await f.identity.login({ issuer: 'https://idp.test', subject: k, displayName: k, email: emailOf(k), organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      key.set(emailOf(k), k);
    }
  });
  after(async () => {
    await f.close();
  });

  test('a project from application to active permit: each change mailed to its team and the reviewers concerned, in French and English', async () => {
    const smtp = await startSmtp();
    const log: string[] = [];
    const mailer = mailerFor(f, smtpUrl(smtp.port), log);
    const gov = governanceWith(f, mailer);
    try {
      const title = 'Statines et démence';
      const p = await gov.createProject(f.who.applicant, f.application({ title }));
      await gov.addMember(f.who.applicant, p.id, f.who.member.personId, 'member');
      await mailer.idle();
      assert.equal(smtp.received.length, 0, 'filing a draft and adding a member mail nobody');

      const team = ['applicant', 'member'];
      const committee = ['committee1', 'committee2'];
      /** Takes a step, waits for its mail, and checks who got what. */
      const step = async (who: PersonKey, run: () => Promise<unknown>, expect: { status: readonly [fr: string, en: string]; by: readonly [fr: string, en: string]; reviewers: readonly string[] } | null): Promise<void> => {
        const before = smtp.received.length;
        await run();
        await mailer.idle();
        const got = smtp.received.slice(before);
        if (expect === null) {
          assert.equal(got.length, 0, `${who}: no state change, no mail`);
          return;
        }
        // one message per recipient: nobody sees the others' addresses
        for (const r of got) assert.equal(r.to.length, 1);
        const to = got.map((r) => key.get(r.to[0] ?? '') ?? '?').sort();
        assert.deepEqual(to, [...team, ...expect.reviewers].sort(), `${who}: recipients`);
        for (const r of got) {
          const k = key.get(r.to[0] ?? '') ?? '?';
          const m = r.mail;
          assert.deepEqual(m.from?.value.map((a) => [a.name, a.address]), [['Enclave', 'enclave@example.org']]);
          assert.equal(m.headers.get('auto-submitted'), 'auto-generated');
          assert.equal(m.subject, `[Enclave] « ${title} » : ${expect.status[0]} · "${title}": ${expect.status[1]}`);
          const text = m.text ?? '';
          assert.equal(m.html, false, 'plain text only');
          assert.ok(text.includes(`Le projet « ${title} » est maintenant : ${expect.status[0]}.`), text);
          assert.ok(text.includes(`Project "${title}" is now: ${expect.status[1]}.`), text);
          assert.ok(text.includes(`Changement fait ${expect.by[0]}.`), text);
          assert.ok(text.includes(`Change made ${expect.by[1]}.`), text);
          assert.ok(text.includes(`${PORTAL}/projects/${p.id}`), 'link to the project page');
          const reason = team.includes(k) ? 'because you are on the project team' : 'because your role acts at this step of the review';
          assert.ok(text.includes(reason), `${k}: ${reason}`);
          // never the reviewers' comments or references, never a person's name or address
          assert.doesNotMatch(text, /CONFIDENTIAL-COMMENT|CCTIRS-REF|@hospital\.example|committee1|Alice/);
        }
      };
      const o = { comment: 'CONFIDENTIAL-COMMENT about cohort', reference: 'CCTIRS-REF-42' };
      await step('applicant', () => gov.take(f.who.applicant, p.id, 'submit'), {
        status: ['soumis, en attente du contrôle de complétude', 'submitted, awaiting the completeness check'], by: ['par l’investigateur ou l’investigatrice principal(e) du projet', 'by the project’s principal investigator'], reviewers: committee,
      });
      // a refused act rolls back with its transaction: nobody hears of it
      await step('applicant', () => assert.rejects(gov.take(f.who.applicant, p.id, 'accept_complete'), /needs the access_committee role/), null);
      await step('committee1', () => gov.take(f.who.committee1, p.id, 'accept_complete', o), {
        status: ['en examen éthique et scientifique', 'in ethics and scientific review'], by: ['par un membre du comité d’accès', 'by a member of the access committee'], reviewers: ['ethics'],
      });
      await step('ethics', () => gov.take(f.who.ethics, p.id, 'ethics_favourable', o), {
        status: ['en examen juridique', 'in legal review'], by: ['par un rapporteur ou une rapporteuse du comité d’éthique', 'by an ethics reviewer'], reviewers: ['legal'],
      });
      await step('legal', () => gov.take(f.who.legal, p.id, 'legal_approve', o), {
        status: ['devant le comité d’accès', 'before the access committee'], by: ['par un ou une juriste chargé(e) de l’examen juridique', 'by a legal reviewer'], reviewers: committee,
      });
      await step('committee1', async () => gov.proposePermit(f.who.committee1, p.id, await f.permitFor(p.id)), null);
      await step('committee1', () => gov.take(f.who.committee1, p.id, 'committee_approve', o), null);
      await step('committee2', () => gov.take(f.who.committee2, p.id, 'committee_approve', o), {
        status: ['autorisé : l’autorisation est en vigueur', 'approved: the permit is in force'], by: ['par un membre du comité d’accès', 'by a member of the access committee'], reviewers: [],
      });
      await step('applicant', () => gov.take(f.who.applicant, p.id, 'close'), {
        status: ['clos', 'closed'], by: ['par l’investigateur ou l’investigatrice principal(e) du projet', 'by the project’s principal investigator'], reviewers: [],
      });
      assert.deepEqual(await failureEvents(f, p.id), []);
      assert.deepEqual(log, []);
      console.log(`SMTP: ${smtp.received.length} messages received for ${6} state changes of one project, each to its team and the reviewers concerned`);
    } finally {
      await mailer.close();
      await stopSmtp(smtp.server);
    }
  });

  test('an amendment of an active permit is mailed as such', async () => {
    const smtp = await startSmtp();
    const mailer = mailerFor(f, smtpUrl(smtp.port), []);
    const gov = governanceWith(f, mailer);
    try {
      const id = await f.projectAt('active');
      await gov.fileAmendment(f.who.applicant, id, f.amendedApplication(['BEN_NIR_PSA', 'PRS_NAT_REF', 'PRS_ACT_QTE']));
      await gov.takeAmendment(f.who.committee1, id, 'accept_complete');
      await mailer.idle();
      const filed = smtp.received.filter((r) => (r.mail.subject ?? '').includes('soumis'));
      assert.deepEqual(filed.map((r) => key.get(r.to[0] ?? '')).sort(), ['applicant', 'committee1', 'committee2', 'member']);
      for (const r of filed) {
        assert.match(r.mail.subject ?? '', /^\[Enclave\] modification de « Statins and dementia » : soumis/);
        assert.ok((r.mail.text ?? '').includes('The amendment of project "Statins and dementia" is now: submitted'));
        assert.ok((r.mail.text ?? '').includes('Change made by the project’s principal investigator.'));
      }
      const accepted = smtp.received.filter((r) => (r.mail.subject ?? '').includes('en examen éthique'));
      assert.deepEqual(accepted.map((r) => key.get(r.to[0] ?? '')).sort(), ['applicant', 'ethics', 'member']);
      assert.ok((accepted[0]?.mail.text ?? '').includes('Change made by a member of the access committee.'));
    } finally {
      await mailer.close();
      await stopSmtp(smtp.server);
    }
  });

  test('a change that does not commit mails nobody: e-mail goes only after the commit', async () => {
    const smtp = await startSmtp();
    const mailer = mailerFor(f, smtpUrl(smtp.port), []);
    // the work runs (in-app notifications written, e-mail queued), then the commit fails
    const audit = {
      record: f.audit.record.bind(f.audit),
      transaction: <T>(draft: Parameters<typeof f.audit.transaction>[0], fn: Parameters<typeof f.audit.transaction<T>>[1]): Promise<T> =>
        f.audit.transaction(draft, async (tx) => {
          await fn(tx);
          throw new Error('the commit failed');
        }),
    };
    const gov = new GovernanceService({
      db: f.t.db, audit, now: () => NOW, mailer,
      catalog: (d, t) => f.catalog.getTable(d, t),
      people: f.identity.peopleDirectory(),
    });
    try {
      const p = await f.gov.createProject(f.who.applicant, f.application());
      await assert.rejects(gov.take(f.who.applicant, p.id, 'submit'), /the commit failed/);
      await mailer.idle();
      assert.equal((await f.gov.getProject(f.who.applicant, p.id)).project.status, 'draft');
      assert.equal(smtp.received.length, 0);
    } finally {
      await mailer.close();
      await stopSmtp(smtp.server);
    }
  });

  test('mail server down: the transition happens, nothing is rolled back, and the failure is logged and audited', async () => {
    // a port nobody listens on
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const log: string[] = [];
    const mailer = mailerFor(f, smtpUrl(port), log);
    const gov = governanceWith(f, mailer);
    const p = await gov.createProject(f.who.applicant, f.application());
    await gov.addMember(f.who.applicant, p.id, f.who.member.personId, 'member');
    const detail = await gov.take(f.who.applicant, p.id, 'submit');
    assert.equal(detail.project.status, 'submitted');
    await mailer.idle();
    assert.equal((await f.gov.getProject(f.who.committee1, p.id)).project.status, 'submitted', 'the change is committed');
    const inApp = await f.t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM governance_notifications WHERE project_id = $1 AND kind = 'project.submitted'", [p.id]);
    assert.equal(inApp[0]?.n, '4', 'in-app notifications for the team and the committee all the same');
    const events = await failureEvents(f, p.id);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.outcome, 'failure');
    assert.equal(events[0]?.actor_id, 'mailer');
    assert.deepEqual(events[0]?.details, { kind: 'project.submitted', sent: 0, failed: 4, noAddress: 0, errors: ['ESOCKET'] });
    assert.equal(log.length, 1);
    assert.match(log[0] ?? '', /4 of 4 notification e-mails of project .* \(project\.submitted\) not delivered \(ESOCKET\); the change stands/);
    assert.doesNotMatch(log[0] ?? '', /@|p@ss/, 'no address or password in the log');
    await mailer.close();
  });

  test('mail server that accepts the connection and never answers: the decision does not wait for it', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => { sockets.add(s); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const log: string[] = [];
    const mailer = mailerFor(f, smtpUrl(port), log);
    const gov = governanceWith(f, mailer);
    const p = await gov.createProject(f.who.applicant, f.application());
    const t0 = Date.now();
    const detail = await gov.take(f.who.applicant, p.id, 'submit');
    const took = Date.now() - t0;
    assert.equal(detail.project.status, 'submitted');
    assert.ok(took < 5_000, `the transition returned in ${took} ms while the mail server hangs (greeting timeout 10 s)`);
    let settled = false;
    const idle = mailer.idle().then(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, false, 'delivery is still pending after the transition returned');
    // the server goes away: the pending delivery fails and is recorded
    for (const s of sockets) s.destroy();
    silent.close();
    await idle;
    const events = await failureEvents(f, p.id);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.details['failed'], 3, 'the applicant and both committee members');
    assert.equal(log.length, 1);
    await mailer.close();
  });

  test('a recipient refused by the server: the others get theirs, the refusal is recorded', async () => {
    const smtp = await startSmtp({ refuse: (a) => a === emailOf('member') });
    const log: string[] = [];
    const mailer = mailerFor(f, smtpUrl(smtp.port), log);
    const gov = governanceWith(f, mailer);
    try {
      const p = await gov.createProject(f.who.applicant, f.application());
      await gov.addMember(f.who.applicant, p.id, f.who.member.personId, 'member');
      await gov.take(f.who.applicant, p.id, 'submit');
      await mailer.idle();
      assert.deepEqual(smtp.received.map((r) => key.get(r.to[0] ?? '')).sort(), ['applicant', 'committee1', 'committee2']);
      const events = await failureEvents(f, p.id);
      assert.deepEqual(events[0]?.details, { kind: 'project.submitted', sent: 3, failed: 1, noAddress: 0, errors: ['EENVELOPE:550'] });
    } finally {
      await mailer.close();
      await stopSmtp(smtp.server);
    }
  });

  test('wrong SMTP credentials are a recorded failure too, and the change stands', async () => {
    const smtp = await startSmtp();
    const log: string[] = [];
    const mailer = mailerFor(f, `smtp://enclave:wrong@127.0.0.1:${smtp.port}`, log);
    const gov = governanceWith(f, mailer);
    try {
      const p = await gov.createProject(f.who.applicant, f.application());
      assert.equal((await gov.take(f.who.applicant, p.id, 'submit')).project.status, 'submitted');
      await mailer.idle();
      assert.equal(smtp.received.length, 0);
      const events = await failureEvents(f, p.id);
      assert.deepEqual(events[0]?.details['errors'], ['EAUTH:535']);
    } finally {
      await mailer.close();
      await stopSmtp(smtp.server);
    }
  });
});

describe('the message itself', () => {
  const notice: StatusNotice = {
    projectId: 'p 1/2', projectTitle: 'Evil\r\nBcc: victim@example.org\u0007 title', kind: 'amendment.approved', status: 'approved', actedAs: 'access_committee', team: ['a'], reviewers: [],
  };
  test('a title cannot inject a header: one line, no control character', () => {
    const m = composeStatusMail(notice, 'team', `${PORTAL}/`);
    assert.doesNotMatch(m.subject, /[\r\n\u0007]/);
    assert.equal(m.subject, '[Enclave] modification de « Evil Bcc: victim@example.org title » : approuvé : l’autorisation modifiée est en vigueur · amendment of "Evil Bcc: victim@example.org title": approved: the amended permit is in force');
    assert.ok(m.text.includes(`${PORTAL}/projects/p%201%2F2`), 'the id is encoded in the link, no double slash');
    assert.ok(m.text.includes('La demande de modification du projet'));
  });
  test('an unknown status still reads, a long title is cut', () => {
    const m = composeStatusMail({ ...notice, projectTitle: 'x'.repeat(300), kind: 'project.some_new_state', status: 'some_new_state', actedAs: 'system' }, 'reviewer', PORTAL);
    assert.ok(m.text.includes('is now: some new state.'));
    assert.ok(m.text.includes('Change made automatically by Enclave.'));
    assert.ok(m.text.includes('because your role acts at this step'));
    assert.ok(m.subject.length <= 250);
  });
  test('default timeouts are added to the URL unless it sets its own', () => {
    const u = new URL(withDefaultTimeouts('smtp://u:p%40ss@mail.example.org:587?requireTLS=true&socketTimeout=5000'));
    assert.equal(u.searchParams.get('requireTLS'), 'true');
    assert.equal(u.searchParams.get('socketTimeout'), '5000');
    assert.equal(u.searchParams.get('connectionTimeout'), '10000');
    assert.equal(u.password, 'p%40ss');
  });
});

describe('configuration and wiring', () => {
  test('ENCLAVE_SMTP_URL needs ENCLAVE_SMTP_FROM; a bad URL is named, never echoed', () => {
    assert.equal(loadConfig({}).smtp, undefined, 'unset: no e-mail');
    assert.throws(() => loadConfig({ ENCLAVE_SMTP_URL: 'smtp://mail.example.org:587' }), (e) => isAppError(e) && /ENCLAVE_SMTP_FROM: required when ENCLAVE_SMTP_URL is set/.test(e.message));
    assert.throws(() => loadConfig({ ENCLAVE_SMTP_URL: 'http://u:hunter2@mail.example.org', ENCLAVE_SMTP_FROM: FROM }), (e) => isAppError(e) && /ENCLAVE_SMTP_URL: an smtp:\/\/ or smtps:\/\/ URL/.test(e.message) && !e.message.includes('hunter2'));
    assert.throws(() => loadConfig({ ENCLAVE_SMTP_URL: 'smtps://mail.example.org', ENCLAVE_SMTP_FROM: 'not an address' }), (e) => isAppError(e) && /ENCLAVE_SMTP_FROM/.test(e.message));
    const c = loadConfig({ ENCLAVE_SMTP_URL: 'smtp://enclave:s%40cret@mail.example.org:587?requireTLS=true', ENCLAVE_SMTP_FROM: FROM });
    assert.deepEqual(c.smtp, { url: 'smtp://enclave:s%40cret@mail.example.org:587?requireTLS=true', from: FROM });
  });

  test('the server mails through SMTP when configured, with links to its public URL', async () => {
    const smtp = await startSmtp();
    const s = await startTestServer({ ENCLAVE_SMTP_URL: smtpUrl(smtp.port), ENCLAVE_SMTP_FROM: FROM, ENCLAVE_PUBLIC_URL: PORTAL });
    try {
      const { identity, governance, mailer } = s.platform;
      assert.ok(mailer !== undefined);
      const enrol = async (subject: string, roles: Parameters<typeof identity.seedRoles>[2]): Promise<string> => {
        const { personId } = await identity.login({ issuer: 'https://idp.test', subject, displayName: subject, email: `${subject}@hospital.example`, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
        await identity.seedRoles({ kind: 'service', id: 'test' }, personId, roles);
        return personId;
      };
      const applicant = await identity.principalOf(await enrol('wired-applicant', ['applicant']), 'session');
      await enrol('wired-committee', ['access_committee']);
      const p = await governance.createProject(applicant, {
        title: 'Wired', organisation: 'Inserm U1234', purpose: 'Check that the server e-mails state changes.', publicInterest: 'Dementia prevention.',
        legalBasis: { kind: 'reference_methodology', reference: 'MR-004' }, ethicsOpinionReference: null, funding: 'ANR',
        team: [{ name: 'A. Applicant', role: 'principal investigator', organisation: 'Inserm' }],
        requestedScope: { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA'] }] }], years: { from: 2019, to: 2023 }, population: 'adults', justification: 'exposure' },
      });
      await governance.take(applicant, p.id, 'submit');
      await mailer.idle();
      const to = smtp.received.map((r) => r.to[0]).sort();
      assert.ok(to.includes('wired-applicant@hospital.example') && to.includes('wired-committee@hospital.example'), to.join(', '));
      assert.ok((smtp.received[0]?.mail.text ?? '').includes(`${PORTAL}/projects/${p.id}`));
    } finally {
      await s.close();
      await stopSmtp(smtp.server);
    }
  });
});
