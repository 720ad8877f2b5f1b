/**
 * Accounts of the embedded OpenID provider (table identity_idp_accounts): username, scrypt
 * password hash, TOTP secret, and the failure counter behind the lockout. Used only when no
 * external issuer is configured; the demo people are its only accounts. DEMO ONLY: TOTP secrets
 * are kept in clear so that `enclave demo people` can show them again.
 */
import { randomBytes } from 'node:crypto';
import type { Actor, AuditedTx } from '../audit/index.ts';
import type { Queryable } from '../db/index.ts';
import type { IdentityAudit, IdentityService } from './service.ts';
import type { Role } from './roles.ts';
import { hashPassword } from './passwords.ts';
import { newTotpSecret } from './totp.ts';
import { EMBEDDED_ISSUER_ID } from './repository.ts';

export { hashPassword, verifyPassword } from './passwords.ts';

/** The issuer people of the embedded provider are recorded under (kept in repository.ts, which service.ts also reads). */
export { EMBEDDED_ISSUER_ID };
/** How long an account stays locked after too many failures. */
export const LOCKOUT_MS = 15 * 60 * 1000;

export interface IdpAccount {
  readonly username: string;
  readonly subject: string;
  readonly passwordHash: string;
  readonly totpSecret: string;
  readonly displayName: string;
  readonly email: string | null;
  readonly organisation: string;
  readonly failedAttempts: number;
  readonly lockedUntil: Date | null;
  readonly demo: boolean;
}

/** One demo person per role (two for the committee's four eyes, a second applicant as team member). */
export const DEMO_PEOPLE: readonly { readonly username: string; readonly displayName: string; readonly roles: readonly Role[] }[] = [
  { username: 'applicant', displayName: 'Alice Martin (demo applicant)', roles: ['applicant'] },
  { username: 'member', displayName: 'Marc Petit (demo project member)', roles: ['applicant'] },
  { username: 'ethics', displayName: 'Élise Bernard (demo ethics reviewer)', roles: ['ethics_reviewer'] },
  { username: 'legal', displayName: 'Louis Moreau (demo legal reviewer)', roles: ['legal_reviewer'] },
  { username: 'committee1', displayName: 'Claire Dubois (demo access committee)', roles: ['access_committee'] },
  { username: 'committee2', displayName: 'Hugo Laurent (demo access committee)', roles: ['access_committee'] },
  { username: 'checker', displayName: 'Inès Roux (demo output checker)', roles: ['output_checker'] },
  { username: 'operator', displayName: 'Paul Girard (demo operator)', roles: ['operator'] },
  { username: 'auditor', displayName: 'Sophie Lefèvre (demo auditor)', roles: ['auditor'] },
  { username: 'admin', displayName: 'Antoine Fournier (demo admin)', roles: ['admin'] },
];

interface Row {
  username: string; subject: string; password_hash: string; totp_secret: string; display_name: string; email: string | null;
  organisation: string; failed_attempts: number; locked_until: Date | null; demo: boolean;
}
const toAccount = (r: Row): IdpAccount => ({
  username: r.username, subject: r.subject, passwordHash: r.password_hash, totpSecret: r.totp_secret, displayName: r.display_name,
  email: r.email, organisation: r.organisation, failedAttempts: r.failed_attempts, lockedUntil: r.locked_until === null ? null : new Date(r.locked_until), demo: r.demo,
});
const COLS = 'username, subject, password_hash, totp_secret, display_name, email, organisation, failed_attempts, locked_until, demo';

export async function findAccount(q: Queryable, username: string): Promise<IdpAccount | null> {
  const [r] = await q.query<Row>(`SELECT ${COLS} FROM identity_idp_accounts WHERE username = $1`, [username]);
  return r === undefined ? null : toAccount(r);
}

export async function findAccountBySubject(q: Queryable, subject: string): Promise<IdpAccount | null> {
  const [r] = await q.query<Row>(`SELECT ${COLS} FROM identity_idp_accounts WHERE subject = $1`, [subject]);
  return r === undefined ? null : toAccount(r);
}

export async function listAccounts(q: Queryable): Promise<IdpAccount[]> {
  return (await q.query<Row>(`SELECT ${COLS} FROM identity_idp_accounts ORDER BY created_at, username`)).map(toAccount);
}

/**
 * Counts a failed second factor (a TOTP code refused after the right password); at `max`
 * failures the account locks for LOCKOUT_MS and the counter restarts. Wrong passwords are never
 * counted: whoever does not know the password cannot lock the account out. Returns whether this
 * failure locked it. Bookkeeping: the caller audits the refusal.
 */
export async function recordFailure(q: Queryable, username: string, max: number, now: Date): Promise<boolean> {
  const [r] = await q.query<{ failed_attempts: number }>('UPDATE identity_idp_accounts SET failed_attempts = failed_attempts + 1 WHERE username = $1 RETURNING failed_attempts', [username]);
  if (r === undefined || r.failed_attempts < max) return false;
  await q.query('UPDATE identity_idp_accounts SET failed_attempts = 0, locked_until = $2 WHERE username = $1', [username, new Date(now.getTime() + LOCKOUT_MS)]);
  return true;
}

/**
 * Records `step` as the last TOTP time step accepted for the account, only when it is later than
 * the one recorded. False: a code of that step (or an earlier one) was already used, so this
 * one is a replay. One conditional UPDATE: of two concurrent submissions of one code, exactly
 * one wins (PostgreSQL re-checks the condition on the row the other has just updated).
 */
export async function acceptTotpStep(q: Queryable, username: string, step: number): Promise<boolean> {
  const rows = await q.query(
    'UPDATE identity_idp_accounts SET totp_last_step = $2 WHERE username = $1 AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING username',
    [username, step],
  );
  return rows.length === 1;
}

export async function recordSuccess(q: Queryable, username: string): Promise<void> {
  await q.query('UPDATE identity_idp_accounts SET failed_attempts = 0, locked_until = NULL WHERE username = $1', [username]);
}

async function insertAccount(tx: AuditedTx, a: { username: string; subject: string; passwordHash: string; totpSecret: string; displayName: string; organisation: string }): Promise<void> {
  await tx.query(
    'INSERT INTO identity_idp_accounts (username, subject, password_hash, totp_secret, display_name, email, organisation, demo) VALUES ($1, $2, $3, $4, $5, NULL, $6, true)',
    [a.username, a.subject, a.passwordHash, a.totpSecret, a.displayName, a.organisation],
  );
}

export interface SeededDemoPerson {
  readonly username: string;
  readonly roles: readonly Role[];
  /** Shown once, at the start that created it. */
  readonly password: string;
  readonly totpSecret: string;
}

/**
 * Creates the demo people that do not exist yet: an account of the embedded provider and a
 * person (issuer EMBEDDED_ISSUER_ID, subject = username) with the role. Returns those created,
 * with their password and TOTP secret, for the one-time print.
 */
export async function seedDemoPeople(db: Queryable, audit: IdentityAudit, identity: IdentityService, actor: Actor): Promise<SeededDemoPerson[]> {
  const created: SeededDemoPerson[] = [];
  for (const d of DEMO_PEOPLE) {
    if ((await findAccount(db, d.username)) !== null) continue;
    const password = randomBytes(9).toString('base64url');
    const totpSecret = newTotpSecret();
    const passwordHash = await hashPassword(password);
    await audit.transaction({ actor, action: 'identity.idp.account.create', target: `idp-account:${d.username}`, details: { demo: true } }, async (tx) => {
      await insertAccount(tx, { username: d.username, subject: d.username, passwordHash, totpSecret, displayName: d.displayName, organisation: 'Enclave demo' });
    });
    const personId = await identity.ensurePerson(actor, { issuer: EMBEDDED_ISSUER_ID, subject: d.username, displayName: d.displayName, email: null, organisation: 'Enclave demo' });
    await identity.seedRoles(actor, personId, d.roles);
    created.push({ username: d.username, roles: d.roles, password, totpSecret });
  }
  return created;
}
