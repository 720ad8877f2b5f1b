/**
 * IdentityService: people and their platform roles, server-side sessions (idle and absolute
 * timeouts, CSRF token), API tokens scoped to one person and one project. Secrets handed out
 * (session cookie, API token) are random 256-bit values; only their SHA-256 is stored.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Actor, AuditDraft, AuditedTx, Outcome } from '../audit/index.ts';
import type { Db, Queryable } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { hashPassword } from './passwords.ts';
import { SCRAM_ITERATIONS, scramSalt, scramVerifier } from './scram.ts';
import * as repo from './repository.ts';
import { isReviewingRole, isRole, type Principal, type Role } from './roles.ts';

/** What identity needs from the audit log. */
export interface IdentityAudit {
  transaction<T>(draft: AuditDraft, fn: (tx: AuditedTx) => Promise<T>): Promise<T>;
  record(draft: AuditDraft & { readonly outcome?: Outcome }): Promise<{ seq: string }>;
}

export interface SessionPolicy {
  /** A session unused this long ends. */
  readonly idleMs: number;
  /** A session ends this long after login, used or not. */
  readonly absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 30 * 60 * 1000, absoluteMs: 12 * 3600 * 1000 };
export const API_TOKEN_PREFIX = 'enc_';
export const API_TOKEN_MAX_DAYS = 90;

export interface IdentityServiceOptions {
  readonly db: Db;
  readonly audit: IdentityAudit;
  readonly sessions?: SessionPolicy;
  readonly now?: () => Date;
}

/** Profile taken from verified ID-token / userinfo claims. */
export interface VerifiedLogin {
  readonly issuer: string;
  readonly subject: string;
  readonly displayName: string;
  readonly email: string | null;
  readonly organisation: string;
  readonly acr: string | null;
  readonly amr: readonly string[];
}

export interface NewSession {
  /** Cookie value: give it to the browser, never log it. */
  readonly cookieValue: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
  readonly personId: string;
}

export interface ResolvedSession {
  readonly principal: Principal;
  readonly csrfToken: string;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const secret = (): string => randomBytes(32).toString('base64url');

/**
 * @example
 *   const identity = new IdentityService({ db, audit });
 *   const s = await identity.login(verified, requestId);   // after the OpenID callback
 *   const who = await identity.resolveSession(s.cookieValue);
 */
export class IdentityService {
  readonly #db: Db;
  readonly #audit: IdentityAudit;
  readonly #policy: SessionPolicy;
  readonly #now: () => Date;

  constructor(o: IdentityServiceOptions) {
    this.#db = o.db;
    this.#audit = o.audit;
    this.#policy = o.sessions ?? DEFAULT_SESSION_POLICY;
    this.#now = o.now ?? (() => new Date());
  }

  get sessionPolicy(): SessionPolicy {
    return this.#policy;
  }

  getPerson(id: string): Promise<repo.Person | null> {
    return repo.findPerson(this.#db, id);
  }

  async requirePerson(id: string): Promise<repo.Person> {
    const p = await repo.findPerson(this.#db, id);
    if (p === null) throw new AppError('not_found', `no person ${id}`, { hint: 'list people with GET /api/v1/identity/people' });
    return p;
  }

  personBySubject(issuer: string, subject: string): Promise<repo.Person | null> {
    return repo.findPersonBySubject(this.#db, issuer, subject);
  }

  /** DEMO ONLY: the embedded provider's demo accounts with their TOTP secrets (`enclave demo people`). */
  async demoAccounts(): Promise<{ username: string; subject: string; totpSecret: string }[]> {
    const rows = await this.#db.query<{ username: string; subject: string; totp_secret: string }>('SELECT username, subject, totp_secret FROM identity_idp_accounts WHERE demo ORDER BY created_at, username');
    return rows.map((r) => ({ username: r.username, subject: r.subject, totpSecret: r.totp_secret }));
  }

  /**
   * DEMO ONLY: gives every demo account of the embedded provider a new password (and clears its
   * lockout), for a demo whose first-start passwords were lost: `enclave demo people
   * --new-passwords`, on the server's own terminal. Each reset is audited; the passwords are
   * returned once, never stored in clear.
   */
  async resetDemoPasswords(actor: Actor): Promise<{ username: string; password: string }[]> {
    const out: { username: string; password: string }[] = [];
    for (const a of await this.demoAccounts()) {
      const password = randomBytes(9).toString('base64url');
      const hash = await hashPassword(password);
      await this.#audit.transaction({ actor, action: 'identity.idp.account.password_reset', target: `idp-account:${a.username}`, details: { demo: true } }, async (tx) => {
        await tx.query('UPDATE identity_idp_accounts SET password_hash = $2, failed_attempts = 0, locked_until = NULL WHERE username = $1 AND demo', [a.username, hash]);
      });
      out.push({ username: a.username, password });
    }
    return out;
  }

  /**
   * The people directory any logged-in person may search, to name colleagues in a team: name and
   * organisation of at most 20 people whose name, organisation or e-mail contains `term` (two
   * characters at least, so that it cannot list everyone at once).
   */
  async directory(term: string): Promise<repo.DirectoryEntry[]> {
    const t = term.trim();
    if (t.length < 2 || t.length > 100) throw new AppError('invalid', 'a directory search takes 2 to 100 characters', { hint: 'e.g. ?q=martin', details: { field: 'q' } });
    return repo.searchDirectory(this.#db, t, 20);
  }

  listPeople(): Promise<repo.Person[]> {
    return repo.listPeople(this.#db);
  }

  peopleWithRole(role: Role): Promise<string[]> {
    return repo.peopleWithRole(this.#db, role);
  }

  /** What other domains need to know about people (governance's PeopleDirectory). */
  peopleDirectory(): {
    exists(personId: string): Promise<boolean>;
    withRole(role: Role): Promise<readonly string[]>;
    changedRolesSince(q: Queryable, personId: string, roles: readonly Role[], since: Date): Promise<boolean>;
    changedRolesBetween(q: Queryable, personId: string, others: readonly string[], roles: readonly Role[]): Promise<boolean>;
    namesOf(ids: readonly string[]): Promise<ReadonlyMap<string, { displayName: string; organisation: string }>>;
    findByEmail(email: string): Promise<string | null>;
  } {
    return {
      findByEmail: async (email) => (await this.#db.query<{ id: string }>('SELECT id FROM identity_people WHERE lower(email) = lower($1) ORDER BY created_at LIMIT 1', [email]))[0]?.id ?? null,
      namesOf: async (ids) => {
        const out = new Map<string, { displayName: string; organisation: string }>();
        for (const id of ids) {
          const p = await repo.findPerson(this.#db, id);
          if (p !== null) out.set(id, { displayName: p.displayName, organisation: p.organisation });
        }
        return out;
      },
      exists: async (id) => (await repo.findPerson(this.#db, id)) !== null,
      withRole: (r) => repo.peopleWithRole(this.#db, r),
      changedRolesSince: (q, id, roles, since) => repo.changedRolesSince(q, id, roles, since),
      changedRolesBetween: (q, id, others, roles) => repo.changedRolesBetween(q, id, others, roles),
    };
  }

  /** The principal of a person acting locally (CLI on the server, tests): their current roles. */
  async principalOf(personId: string, via: Principal['via'] = 'local', projectScope: string | null = null): Promise<Principal> {
    const p = await this.requirePerson(personId);
    return { personId: p.id, roles: new Set(p.roles), via, projectScope };
  }

  /**
   * Registers (first time) or refreshes a person known by issuer and subject. Audited as
   * `identity.person.register` when new. Returns the person id.
   */
  async ensurePerson(actor: Actor, p: Omit<VerifiedLogin, 'acr' | 'amr'>, requestId?: string): Promise<string> {
    const existing = await repo.findPersonBySubject(this.#db, p.issuer, p.subject);
    if (existing !== null) return existing.id;
    const id = randomUUID();
    await this.#audit.transaction({ actor, action: 'identity.person.register', target: `person:${id}`, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      await repo.insertPerson(tx, { id, issuer: p.issuer, subject: p.subject, displayName: p.displayName, email: p.email, organisation: p.organisation });
    });
    return id;
  }

  /**
   * Grants a platform role (admin only, never to oneself). A reviewing role is only proposed:
   * it is granted when a second admin approves (`decideRoleChange`). Returns the change, applied
   * or pending.
   */
  grantRole(by: Principal, personId: string, role: string, requestId?: string): Promise<repo.RoleChange> {
    return this.#changeRole(by, personId, role, 'grant', requestId);
  }

  /** Removes a platform role: as `grantRole`, a reviewing role only once a second admin approves. */
  revokeRole(by: Principal, personId: string, role: string, requestId?: string): Promise<repo.RoleChange> {
    return this.#changeRole(by, personId, role, 'revoke', requestId);
  }

  async #changeRole(by: Principal, personId: string, role: string, change: 'grant' | 'revoke', requestId?: string): Promise<repo.RoleChange> {
    if (!isRole(role)) {
      throw new AppError('invalid', role === '' ? 'role is required' : `unknown role ${role.slice(0, 40)}`, { hint: 'one of: applicant, ethics_reviewer, legal_reviewer, access_committee, output_checker, operator, auditor, admin, e.g. {"role": "auditor"}', details: { field: 'role' } });
    }
    const fourEyes = isReviewingRole(role);
    const id = randomUUID();
    const action = fourEyes ? 'identity.role.propose' : `identity.role.${change}`;
    return this.#audit.transaction({ actor: { kind: 'person', id: by.personId }, action, target: `person:${personId}`, details: { role, change, roleChange: id }, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      if (!by.roles.has('admin')) throw new AppError('forbidden', 'only an admin changes platform roles', { hint: 'ask a platform admin' });
      assertNotOwnRoles(by, personId);
      const person = await repo.findPerson(tx, personId);
      if (person === null) throw new AppError('not_found', `no person ${personId}`, { hint: 'list people with GET /api/v1/identity/people' });
      const has = person.roles.includes(role);
      if (change === 'grant' && has) throw new AppError('conflict', `${person.displayName} already has the role ${role}`, { hint: 'nothing to grant' });
      if (change === 'revoke' && !has) throw new AppError('conflict', `${person.displayName} does not have the role ${role}`, { hint: 'nothing to remove' });
      const c = await repo.insertRoleChange(tx, { id, personId, role, change, proposedBy: by.personId, applied: !fourEyes });
      if (c === null) {
        const pending = await repo.pendingRoleChange(tx, personId, role);
        throw new AppError('conflict', `a change of the role ${role} of this person is already waiting for a second admin`, { hint: 'approve or reject it first (GET /api/v1/identity/role-changes)', details: { roleChange: pending?.id ?? null } });
      }
      if (!fourEyes) await applyRoleChange(tx, c, by.personId);
      tx.addDetails({ state: c.state });
      return c;
    });
  }

  /**
   * A second admin approves (the role change takes effect) or rejects a pending change of a
   * reviewing role. Nobody approves their own proposal or decides on a change of their own roles;
   * the proposer may withdraw (reject) it.
   */
  async decideRoleChange(by: Principal, changeId: string, decision: 'approve' | 'reject', requestId?: string): Promise<repo.RoleChange> {
    return this.#audit.transaction({ actor: { kind: 'person', id: by.personId }, action: `identity.role.${decision}`, target: `role-change:${changeId}`, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      if (!by.roles.has('admin')) throw new AppError('forbidden', 'only an admin decides on role changes', { hint: 'ask a platform admin' });
      const c = await repo.findRoleChange(tx, changeId, true);
      if (c === null) throw new AppError('not_found', `no role change ${changeId}`, { hint: 'list pending changes with GET /api/v1/identity/role-changes?state=pending' });
      tx.addDetails({ person: c.personId, role: c.role, change: c.change, proposedBy: c.proposedBy });
      assertNotOwnRoles(by, c.personId);
      if (c.state !== 'pending') throw new AppError('conflict', `this role change is already ${c.state}`, { hint: 'only a pending change can be decided' });
      if (decision === 'approve') {
        if (c.proposedBy === by.personId) {
          throw new AppError('forbidden', 'four eyes: a reviewing role is changed by two admins; you proposed this change, so another admin approves it', { hint: 'ask a second admin to approve it' });
        }
        await applyRoleChange(tx, c, by.personId);
      }
      await repo.decideRoleChange(tx, c.id, decision === 'approve' ? 'applied' : 'rejected', by.personId);
      return { ...c, state: decision === 'approve' ? 'applied' as const : 'rejected' as const, decidedBy: by.personId, decidedAt: this.#now().toISOString() };
    });
  }

  /** Role changes, newest first (admins and auditors); `state` narrows the list, e.g. to the pending ones. */
  listRoleChanges(state: repo.RoleChange['state'] | null = null): Promise<repo.RoleChange[]> {
    return repo.listRoleChanges(this.#db, state);
  }

  /**
   * The demo logins switch: whether the embedded provider's demo people may log in, and the
   * change waiting for a second admin if any (admins and auditors read it).
   */
  async demoLogins(): Promise<{ enabled: boolean; pending: repo.DemoLoginChange | null }> {
    const [enabled, pending] = await Promise.all([repo.demoLoginsEnabled(this.#db), repo.pendingDemoLoginChange(this.#db)]);
    return { enabled, pending };
  }

  /**
   * Turns demo logins off (at once: it narrows access; demo people's sessions end and their API
   * tokens are revoked) or proposes to turn them on (it widens access: a second admin approves,
   * `decideDemoLogins`). Admins only; audited as `identity.demo_logins.disable` / `.propose`.
   */
  async setDemoLogins(by: Principal, enabled: boolean, requestId?: string): Promise<repo.DemoLoginChange> {
    const id = randomUUID();
    const action = enabled ? 'identity.demo_logins.propose' : 'identity.demo_logins.disable';
    return this.#audit.transaction({ actor: { kind: 'person', id: by.personId }, action, target: 'setting:demo_logins', details: { enabled, change: id }, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      if (!by.roles.has('admin')) throw new AppError('forbidden', 'only an admin turns demo logins on or off', { hint: 'ask a platform admin' });
      const current = await repo.demoLoginsEnabled(tx);
      if (current === enabled) throw new AppError('conflict', `demo logins are already ${enabled ? 'on' : 'off'}`, { hint: 'nothing to change' });
      const c = await repo.insertDemoLoginChange(tx, { id, enabled, proposedBy: by.personId, applied: !enabled });
      if (c === null) {
        const pending = await repo.pendingDemoLoginChange(tx);
        throw new AppError('conflict', 'a change of the demo logins is already waiting for a second admin', { hint: 'approve or reject it first (GET /api/v1/identity/demo-logins)', details: { change: pending?.id ?? null } });
      }
      if (!enabled) tx.addDetails({ ended: await repo.endDemoAccess(tx) });
      tx.addDetails({ state: c.state });
      return c;
    });
  }

  /**
   * A second admin approves (demo logins turn on) or rejects the pending proposal; its proposer
   * may withdraw (reject) it but not approve it.
   */
  async decideDemoLogins(by: Principal, changeId: string, decision: 'approve' | 'reject', requestId?: string): Promise<repo.DemoLoginChange> {
    return this.#audit.transaction({ actor: { kind: 'person', id: by.personId }, action: `identity.demo_logins.${decision}`, target: `demo-login-change:${changeId}`, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      if (!by.roles.has('admin')) throw new AppError('forbidden', 'only an admin decides on demo logins', { hint: 'ask a platform admin' });
      const c = await repo.findDemoLoginChange(tx, changeId, true);
      if (c === null) throw new AppError('not_found', `no demo logins change ${changeId}`, { hint: 'the pending one is in GET /api/v1/identity/demo-logins' });
      tx.addDetails({ enabled: c.enabled, proposedBy: c.proposedBy });
      if (c.state !== 'pending') throw new AppError('conflict', `this change is already ${c.state}`, { hint: 'only a pending change can be decided' });
      if (decision === 'approve' && c.proposedBy === by.personId) {
        throw new AppError('forbidden', 'four eyes: turning demo logins on takes two admins; you proposed it, so another admin approves it', { hint: 'ask a second admin to approve it' });
      }
      await repo.decideDemoLoginChange(tx, c.id, decision === 'approve' ? 'applied' : 'rejected', by.personId);
      return { ...c, state: decision === 'approve' ? 'applied' as const : 'rejected' as const, decidedBy: by.personId, decidedAt: this.#now().toISOString() };
    });
  }

  /** Bootstrap and seeding, outside any request (first start, demo people): roles granted by a service actor. */
  async seedRoles(actor: Actor, personId: string, roles: readonly Role[]): Promise<void> {
    await this.#audit.transaction({ actor, action: 'identity.role.seed', target: `person:${personId}`, details: { roles: [...roles] } }, async (tx) => {
      for (const r of roles) await repo.insertRole(tx, personId, r, actor.id);
    });
  }

  /**
   * Completes a login whose tokens the OpenID client has verified: registers the person if
   * new, opens a server-side session. Audited as `identity.login`.
   */
  async login(v: VerifiedLogin, requestId?: string): Promise<NewSession> {
    const personId = await this.ensurePerson({ kind: 'service', id: 'identity' }, v, requestId);
    const cookieValue = secret();
    const csrfToken = secret();
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + this.#policy.absoluteMs);
    await this.#audit.transaction({ actor: { kind: 'person', id: personId }, action: 'identity.login', target: `person:${personId}`, details: { acr: v.acr ?? 'none', amr: [...v.amr] }, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      await repo.updatePersonProfile(tx, personId, { displayName: v.displayName, email: v.email, organisation: v.organisation });
      await repo.insertSession(tx, { idHash: sha256(cookieValue), personId, csrf: csrfToken, acr: v.acr, amr: v.amr, now, expiresAt });
    });
    return { cookieValue, csrfToken, expiresAt, personId };
  }

  /** Records a refused login (bad token, MFA missing, ...) with the reason code, never the token. */
  async loginRefused(reason: string, requestId?: string): Promise<void> {
    await this.#audit.record({ actor: { kind: 'service', id: 'identity' }, action: 'identity.login', target: 'session', outcome: 'denied', details: { reason }, ...(requestId === undefined ? {} : { requestId }) });
  }

  /** The principal of a session cookie, or null when unknown, idle too long or past its absolute end. */
  async resolveSession(cookieValue: string): Promise<ResolvedSession | null> {
    if (cookieValue.length < 20 || cookieValue.length > 100) return null;
    const h = sha256(cookieValue);
    const s = await repo.findSession(this.#db, h);
    if (s === null) return null;
    const now = this.#now();
    if (now.getTime() >= new Date(s.expires_at).getTime() || now.getTime() - new Date(s.last_seen_at).getTime() >= this.#policy.idleMs) {
      await repo.deleteStaleSession(this.#db, h);
      return null;
    }
    await repo.touchSession(this.#db, h, now);
    const person = await repo.findPerson(this.#db, s.person_id);
    if (person === null) return null;
    return { principal: { personId: person.id, roles: new Set(person.roles), via: 'session', projectScope: null }, csrfToken: s.csrf_token };
  }

  /** Ends a session (logout). Unknown cookies end nothing and record nothing. */
  async logout(cookieValue: string, requestId?: string): Promise<void> {
    const h = sha256(cookieValue);
    const s = await repo.findSession(this.#db, h);
    if (s === null) return;
    await this.#audit.transaction({ actor: { kind: 'person', id: s.person_id }, action: 'identity.logout', target: `person:${s.person_id}`, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      await repo.deleteSession(tx, h);
    });
  }

  /** Constant-time comparison of a presented CSRF token with the session's. */
  static csrfMatches(expected: string, given: string | undefined): boolean {
    if (given === undefined) return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(given);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * Issues an API token for `projectId`, valid `days` days (at most API_TOKEN_MAX_DAYS).
   * The caller has checked the person may act on that project. The token is returned once.
   */
  async createApiToken(by: Principal, projectId: string, o: { readonly label?: string; readonly days?: number }, requestId?: string): Promise<{ id: string; token: string; expiresAt: string }> {
    if (by.via === 'token') throw new AppError('forbidden', 'an API token cannot mint other tokens', { hint: 'log in through the browser to create tokens' });
    const days = o.days ?? 30;
    if (!Number.isInteger(days) || days < 1 || days > API_TOKEN_MAX_DAYS) {
      throw new AppError('invalid', `token lifetime must be 1 to ${API_TOKEN_MAX_DAYS} days`, { hint: 'e.g. {"days": 30}' });
    }
    const label = (o.label ?? '').slice(0, 100);
    const id = randomUUID();
    const token = `${API_TOKEN_PREFIX}${secret()}`;
    const expiresAt = new Date(this.#now().getTime() + days * 86_400_000);
    await this.#audit.transaction({ actor: { kind: 'person', id: by.personId }, action: 'identity.token.create', target: `token:${id}`, details: { project: projectId, days }, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      await repo.insertToken(tx, { id, hash: sha256(token), personId: by.personId, projectId, label, expiresAt, scram: scramVerifier(token, scramSalt(projectId)) });
    });
    return { id, token, expiresAt: expiresAt.toISOString() };
  }

  listApiTokens(personId: string): Promise<repo.ApiTokenInfo[]> {
    return repo.listTokens(this.#db, personId);
  }

  /** Revokes a token: its owner or an admin. Effective on the next request. */
  async revokeApiToken(by: Principal, id: string, requestId?: string): Promise<void> {
    await this.#audit.transaction({ actor: { kind: 'person', id: by.personId }, action: 'identity.token.revoke', target: `token:${id}`, ...(requestId === undefined ? {} : { requestId }) }, async (tx) => {
      const t = await repo.findToken(tx, id);
      if (t === null) throw new AppError('not_found', `no API token ${id}`, { hint: 'list your tokens with GET /api/v1/identity/me/tokens' });
      if (t.personId !== by.personId && !by.roles.has('admin')) throw new AppError('forbidden', 'only the token owner or an admin can revoke it');
      await repo.revokeToken(tx, id);
    });
  }

  /**
   * What a SCRAM-SHA-256 server needs to check a client holding one of the project's live tokens
   * (PostgreSQL endpoint): the project's salt, the iteration count, and each token's verifier.
   */
  async scramCredentials(projectId: string): Promise<{ salt: Buffer; iterations: number; tokens: Array<{ tokenId: string; storedKey: Buffer; serverKey: Buffer }> }> {
    return { salt: scramSalt(projectId), iterations: SCRAM_ITERATIONS, tokens: await repo.liveScramVerifiers(this.#db, projectId, this.#now()) };
  }

  /** The principal of a token a SCRAM exchange proved the client holds, or null when it is no longer live. */
  async resolveApiTokenId(tokenId: string): Promise<Principal | null> {
    const t = await repo.findToken(this.#db, tokenId);
    if (t === null || t.revokedAt !== null || new Date(t.expiresAt).getTime() <= this.#now().getTime()) return null;
    const person = await repo.findPerson(this.#db, t.personId);
    if (person === null) return null;
    await repo.touchToken(this.#db, t.id);
    return { personId: person.id, roles: new Set(person.roles), via: 'token', projectScope: t.projectId };
  }

  /** The principal of a bearer token, or null when unknown, expired or revoked. */
  async resolveApiToken(token: string): Promise<Principal | null> {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 100) return null;
    const t = await repo.findTokenByHash(this.#db, sha256(token));
    if (t === null || t.revokedAt !== null || new Date(t.expiresAt).getTime() <= this.#now().getTime()) return null;
    const person = await repo.findPerson(this.#db, t.personId);
    if (person === null) return null;
    await repo.touchToken(this.#db, t.id);
    return { personId: person.id, roles: new Set(person.roles), via: 'token', projectScope: t.projectId };
  }
}

/** Separation of duties: nobody changes (or decides on a change of) their own roles. */
function assertNotOwnRoles(by: Principal, personId: string): void {
  if (personId === by.personId) {
    throw new AppError('forbidden', 'separation of duties: nobody changes their own roles', { hint: 'ask another admin' });
  }
}

async function applyRoleChange(tx: AuditedTx, c: repo.RoleChange, by: string): Promise<void> {
  if (c.change === 'grant') await repo.insertRole(tx, c.personId, c.role, by);
  else await repo.deleteRole(tx, c.personId, c.role);
}
