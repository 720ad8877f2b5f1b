/**
 * SQL of identity. Writes take an `AuditedTx`, so none can happen outside an audited
 * transaction; the only unaudited writes are session touch and token last-use (bookkeeping).
 */
import type { AuditedTx } from '../audit/index.ts';
import type { Queryable } from '../db/index.ts';
import { isRole, type Role } from './roles.ts';

/** The issuer people of the embedded provider are recorded under: its URL changes with the port. */
export const EMBEDDED_ISSUER_ID = 'urn:enclave:embedded-idp';


export interface Person {
  readonly id: string;
  readonly issuer: string;
  readonly subject: string;
  readonly displayName: string;
  readonly email: string | null;
  readonly organisation: string;
  readonly roles: readonly Role[];
  readonly createdAt: string;
}

interface PersonRow {
  id: string;
  issuer: string;
  subject: string;
  display_name: string;
  email: string | null;
  organisation: string;
  roles: string[] | null;
  created_at: string;
}

const PERSON_SQL = `SELECT p.id, p.issuer, p.subject, p.display_name, p.email, p.organisation,
    to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
    (SELECT array_agg(r.role ORDER BY r.role) FROM identity_roles r WHERE r.person_id = p.id) AS roles
  FROM identity_people p`;

function toPerson(r: PersonRow): Person {
  return {
    id: r.id, issuer: r.issuer, subject: r.subject, displayName: r.display_name, email: r.email,
    organisation: r.organisation, roles: (r.roles ?? []).filter(isRole), createdAt: r.created_at,
  };
}

export async function findPerson(q: Queryable, id: string): Promise<Person | null> {
  const [r] = await q.query<PersonRow>(`${PERSON_SQL} WHERE p.id = $1`, [id]);
  return r === undefined ? null : toPerson(r);
}

export async function findPersonBySubject(q: Queryable, issuer: string, subject: string): Promise<Person | null> {
  const [r] = await q.query<PersonRow>(`${PERSON_SQL} WHERE p.issuer = $1 AND p.subject = $2`, [issuer, subject]);
  return r === undefined ? null : toPerson(r);
}

export async function listPeople(q: Queryable): Promise<Person[]> {
  return (await q.query<PersonRow>(`${PERSON_SQL} ORDER BY p.display_name, p.id`)).map(toPerson);
}

/** An entry of the people directory: who, and where they work; nothing else. */
export interface DirectoryEntry {
  readonly id: string;
  readonly displayName: string;
  readonly organisation: string;
}

/** People whose name, organisation or e-mail contains `term` (case-insensitive), at most `limit`. */
export async function searchDirectory(q: Queryable, term: string, limit: number): Promise<DirectoryEntry[]> {
  const like = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await q.query<{ id: string; display_name: string; organisation: string }>(
    "SELECT id, display_name, organisation FROM identity_people WHERE lower(display_name) LIKE lower($1) OR lower(organisation) LIKE lower($1) OR lower(coalesce(email, '')) LIKE lower($1) ORDER BY display_name, id LIMIT $2",
    [like, limit],
  );
  return rows.map((r) => ({ id: r.id, displayName: r.display_name, organisation: r.organisation }));
}

export async function peopleWithRole(q: Queryable, role: Role): Promise<string[]> {
  return (await q.query<{ person_id: string }>('SELECT person_id FROM identity_roles WHERE role = $1 ORDER BY person_id', [role])).map((r) => r.person_id);
}

export async function insertPerson(tx: AuditedTx, p: { id: string; issuer: string; subject: string; displayName: string; email: string | null; organisation: string }): Promise<void> {
  await tx.query('INSERT INTO identity_people (id, issuer, subject, display_name, email, organisation) VALUES ($1, $2, $3, $4, $5, $6)', [p.id, p.issuer, p.subject, p.displayName, p.email, p.organisation]);
}

export async function updatePersonProfile(tx: AuditedTx, id: string, p: { displayName: string; email: string | null; organisation: string }): Promise<void> {
  await tx.query('UPDATE identity_people SET display_name = $2, email = $3, organisation = $4, last_login_at = now() WHERE id = $1', [id, p.displayName, p.email, p.organisation]);
}

export async function insertRole(tx: AuditedTx, personId: string, role: Role, grantedBy: string): Promise<boolean> {
  const rows = await tx.query('INSERT INTO identity_roles (person_id, role, granted_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING role', [personId, role, grantedBy]);
  return rows.length > 0;
}

export async function deleteRole(tx: AuditedTx, personId: string, role: Role): Promise<boolean> {
  const rows = await tx.query('DELETE FROM identity_roles WHERE person_id = $1 AND role = $2 RETURNING role', [personId, role]);
  return rows.length > 0;
}

/** A change of a person's platform role, proposed by an admin, applied at once or after a second admin's approval. */
export interface RoleChange {
  readonly id: string;
  readonly personId: string;
  readonly role: Role;
  readonly change: 'grant' | 'revoke';
  readonly proposedBy: string;
  readonly proposedAt: string;
  readonly state: 'pending' | 'applied' | 'rejected';
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
}

interface RoleChangeRow {
  id: string; person_id: string; role: string; change: 'grant' | 'revoke'; proposed_by: string; proposed_at: Date;
  state: 'pending' | 'applied' | 'rejected'; decided_by: string | null; decided_at: Date | null;
}

const ROLE_CHANGE_COLS = 'id, person_id, role, change, proposed_by, proposed_at, state, decided_by, decided_at';

function toRoleChange(r: RoleChangeRow): RoleChange {
  return {
    id: r.id, personId: r.person_id, role: r.role as Role, change: r.change, proposedBy: r.proposed_by, proposedAt: new Date(r.proposed_at).toISOString(),
    state: r.state, decidedBy: r.decided_by, decidedAt: r.decided_at === null ? null : new Date(r.decided_at).toISOString(),
  };
}

/**
 * Records a role change: pending (a second admin decides), or applied at once by its proposer.
 * Null when a change of that role for that person is already pending.
 */
export async function insertRoleChange(tx: AuditedTx, c: { id: string; personId: string; role: Role; change: 'grant' | 'revoke'; proposedBy: string; applied: boolean }): Promise<RoleChange | null> {
  const [r] = await tx.query<RoleChangeRow>(
    `INSERT INTO identity_role_changes (id, person_id, role, change, proposed_by, state, decided_by, decided_at)
     VALUES ($1, $2, $3, $4, $5, CASE WHEN $6::boolean THEN 'applied' ELSE 'pending' END, CASE WHEN $6::boolean THEN $5 END, CASE WHEN $6::boolean THEN now() END)
     ON CONFLICT (person_id, role) WHERE state = 'pending' DO NOTHING RETURNING ${ROLE_CHANGE_COLS}`,
    [c.id, c.personId, c.role, c.change, c.proposedBy, c.applied],
  );
  return r === undefined ? null : toRoleChange(r);
}

export async function findRoleChange(q: Queryable, id: string, forUpdate = false): Promise<RoleChange | null> {
  const [r] = await q.query<RoleChangeRow>(`SELECT ${ROLE_CHANGE_COLS} FROM identity_role_changes WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return r === undefined ? null : toRoleChange(r);
}

export async function pendingRoleChange(q: Queryable, personId: string, role: Role): Promise<RoleChange | null> {
  const [r] = await q.query<RoleChangeRow>(`SELECT ${ROLE_CHANGE_COLS} FROM identity_role_changes WHERE person_id = $1 AND role = $2 AND state = 'pending'`, [personId, role]);
  return r === undefined ? null : toRoleChange(r);
}

export async function listRoleChanges(q: Queryable, state: RoleChange['state'] | null): Promise<RoleChange[]> {
  const rows = state === null
    ? await q.query<RoleChangeRow>(`SELECT ${ROLE_CHANGE_COLS} FROM identity_role_changes ORDER BY proposed_at DESC, id LIMIT 500`)
    : await q.query<RoleChangeRow>(`SELECT ${ROLE_CHANGE_COLS} FROM identity_role_changes WHERE state = $1 ORDER BY proposed_at DESC, id LIMIT 500`, [state]);
  return rows.map(toRoleChange);
}

export async function decideRoleChange(tx: AuditedTx, id: string, state: 'applied' | 'rejected', by: string): Promise<void> {
  await tx.query("UPDATE identity_role_changes SET state = $2, decided_by = $3, decided_at = now() WHERE id = $1 AND state = 'pending'", [id, state, by]);
}

/** Whether `personId` proposed or approved a change of one of `roles` that took effect at or after `since`. */
export async function changedRolesSince(q: Queryable, personId: string, roles: readonly Role[], since: Date): Promise<boolean> {
  const rows = await q.query(
    "SELECT 1 FROM identity_role_changes WHERE state = 'applied' AND (proposed_by = $1 OR decided_by = $1) AND role = ANY($2::text[]) AND decided_at >= $3 LIMIT 1",
    [personId, [...roles], since],
  );
  return rows.length > 0;
}

/**
 * Whether one of `a` and `b` proposed or approved a change (in force) of one of `roles` held by
 * the other: e.g. an admin who granted a checker their role, and that checker.
 */
export async function changedRolesBetween(q: Queryable, a: string, others: readonly string[], roles: readonly Role[]): Promise<boolean> {
  if (others.length === 0) return false;
  const rows = await q.query(
    `SELECT 1 FROM identity_role_changes WHERE state = 'applied' AND role = ANY($3::text[]) AND (
       (person_id = ANY($2::text[]) AND (proposed_by = $1 OR decided_by = $1)) OR (person_id = $1 AND (proposed_by = ANY($2::text[]) OR decided_by = ANY($2::text[])))
     ) LIMIT 1`,
    [a, [...others], [...roles]],
  );
  return rows.length > 0;
}

export interface SessionRow {
  person_id: string;
  csrf_token: string;
  acr: string | null;
  amr: string[];
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

export async function insertSession(tx: AuditedTx, s: { idHash: Buffer; personId: string; csrf: string; acr: string | null; amr: readonly string[]; now: Date; expiresAt: Date }): Promise<void> {
  await tx.query(
    'INSERT INTO identity_sessions (id_hash, person_id, csrf_token, acr, amr, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)',
    [s.idHash, s.personId, s.csrf, s.acr, s.amr, s.now, s.expiresAt],
  );
}

export async function findSession(q: Queryable, idHash: Buffer): Promise<SessionRow | null> {
  const [r] = await q.query<SessionRow>('SELECT person_id, csrf_token, acr, amr, created_at, last_seen_at, expires_at FROM identity_sessions WHERE id_hash = $1', [idHash]);
  return r ?? null;
}

/** Bookkeeping, not a state change of interest: idle timeout tracking. */
export async function touchSession(q: Queryable, idHash: Buffer, now: Date): Promise<void> {
  await q.query('UPDATE identity_sessions SET last_seen_at = $2 WHERE id_hash = $1', [idHash, now]);
}

export async function deleteSession(tx: AuditedTx, idHash: Buffer): Promise<boolean> {
  return (await tx.query('DELETE FROM identity_sessions WHERE id_hash = $1 RETURNING person_id', [idHash])).length > 0;
}

/** Expired sessions are dropped when met; this removes them in bulk (no audit: they ended already). */
export async function deleteStaleSession(q: Queryable, idHash: Buffer): Promise<void> {
  await q.query('DELETE FROM identity_sessions WHERE id_hash = $1', [idHash]);
}

export interface ApiTokenInfo {
  readonly id: string;
  readonly personId: string;
  readonly projectId: string;
  readonly label: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
}

interface TokenRow {
  id: string;
  person_id: string;
  project_id: string;
  label: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

function toToken(r: TokenRow): ApiTokenInfo {
  return {
    id: r.id, personId: r.person_id, projectId: r.project_id, label: r.label,
    createdAt: new Date(r.created_at).toISOString(), expiresAt: new Date(r.expires_at).toISOString(),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
  };
}

export async function insertToken(tx: AuditedTx, t: { id: string; hash: Buffer; personId: string; projectId: string; label: string; expiresAt: Date; scram: { storedKey: Buffer; serverKey: Buffer } }): Promise<void> {
  await tx.query('INSERT INTO identity_api_tokens (id, token_hash, person_id, project_id, label, expires_at, scram_stored_key, scram_server_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [t.id, t.hash, t.personId, t.projectId, t.label, t.expiresAt, t.scram.storedKey, t.scram.serverKey]);
}

/** SCRAM verifiers of a project's tokens that are neither revoked nor expired at `now`. */
export async function liveScramVerifiers(q: Queryable, projectId: string, now: Date): Promise<Array<{ tokenId: string; storedKey: Buffer; serverKey: Buffer }>> {
  const rows = await q.query<{ id: string; scram_stored_key: Buffer | Uint8Array; scram_server_key: Buffer | Uint8Array }>(
    'SELECT id, scram_stored_key, scram_server_key FROM identity_api_tokens WHERE project_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND scram_stored_key IS NOT NULL ORDER BY created_at',
    [projectId, now],
  );
  return rows.map((r) => ({ tokenId: r.id, storedKey: Buffer.from(r.scram_stored_key), serverKey: Buffer.from(r.scram_server_key) }));
}

export async function findTokenByHash(q: Queryable, hash: Buffer): Promise<ApiTokenInfo | null> {
  const [r] = await q.query<TokenRow>('SELECT id, person_id, project_id, label, created_at, expires_at, revoked_at FROM identity_api_tokens WHERE token_hash = $1', [hash]);
  return r === undefined ? null : toToken(r);
}

export async function findToken(q: Queryable, id: string): Promise<ApiTokenInfo | null> {
  const [r] = await q.query<TokenRow>('SELECT id, person_id, project_id, label, created_at, expires_at, revoked_at FROM identity_api_tokens WHERE id = $1', [id]);
  return r === undefined ? null : toToken(r);
}

export async function listTokens(q: Queryable, personId: string): Promise<ApiTokenInfo[]> {
  return (await q.query<TokenRow>('SELECT id, person_id, project_id, label, created_at, expires_at, revoked_at FROM identity_api_tokens WHERE person_id = $1 ORDER BY created_at', [personId])).map(toToken);
}

export async function revokeToken(tx: AuditedTx, id: string): Promise<void> {
  await tx.query('UPDATE identity_api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
}

export async function touchToken(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE identity_api_tokens SET last_used_at = now() WHERE id = $1', [id]);
}

/** A change of the demo logins switch (identity_demo_login_changes). */
export interface DemoLoginChange {
  readonly id: string;
  readonly enabled: boolean;
  readonly proposedBy: string;
  readonly proposedAt: string;
  readonly state: 'pending' | 'applied' | 'rejected';
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
}

interface DemoLoginChangeRow {
  id: string; enabled: boolean; proposed_by: string; proposed_at: Date; state: 'pending' | 'applied' | 'rejected'; decided_by: string | null; decided_at: Date | null;
}
const DEMO_CHANGE_COLS = 'id, enabled, proposed_by, proposed_at, state, decided_by, decided_at';
const toDemoLoginChange = (r: DemoLoginChangeRow): DemoLoginChange => ({
  id: r.id, enabled: r.enabled, proposedBy: r.proposed_by, proposedAt: new Date(r.proposed_at).toISOString(),
  state: r.state, decidedBy: r.decided_by, decidedAt: r.decided_at === null ? null : new Date(r.decided_at).toISOString(),
});

/** Whether the embedded provider's demo people may log in: the latest applied change, on when none. */
export async function demoLoginsEnabled(q: Queryable): Promise<boolean> {
  const [r] = await q.query<{ enabled: boolean }>("SELECT enabled FROM identity_demo_login_changes WHERE state = 'applied' ORDER BY decided_at DESC, proposed_at DESC LIMIT 1");
  return r?.enabled ?? true;
}

/** Records a change, applied at once or pending; null when another change is pending. */
export async function insertDemoLoginChange(tx: AuditedTx, c: { id: string; enabled: boolean; proposedBy: string; applied: boolean }): Promise<DemoLoginChange | null> {
  const [r] = await tx.query<DemoLoginChangeRow>(
    `INSERT INTO identity_demo_login_changes (id, enabled, proposed_by, state, decided_by, decided_at)
     VALUES ($1, $2, $3, CASE WHEN $4::boolean THEN 'applied' ELSE 'pending' END, CASE WHEN $4::boolean THEN $3 END, CASE WHEN $4::boolean THEN clock_timestamp() END)
     ON CONFLICT ((true)) WHERE state = 'pending' DO NOTHING RETURNING ${DEMO_CHANGE_COLS}`,
    [c.id, c.enabled, c.proposedBy, c.applied],
  );
  return r === undefined ? null : toDemoLoginChange(r);
}

export async function findDemoLoginChange(q: Queryable, id: string, forUpdate = false): Promise<DemoLoginChange | null> {
  const [r] = await q.query<DemoLoginChangeRow>(`SELECT ${DEMO_CHANGE_COLS} FROM identity_demo_login_changes WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return r === undefined ? null : toDemoLoginChange(r);
}

export async function pendingDemoLoginChange(q: Queryable): Promise<DemoLoginChange | null> {
  const [r] = await q.query<DemoLoginChangeRow>(`SELECT ${DEMO_CHANGE_COLS} FROM identity_demo_login_changes WHERE state = 'pending'`);
  return r === undefined ? null : toDemoLoginChange(r);
}

export async function decideDemoLoginChange(tx: AuditedTx, id: string, state: 'applied' | 'rejected', by: string): Promise<void> {
  await tx.query("UPDATE identity_demo_login_changes SET state = $2, decided_by = $3, decided_at = clock_timestamp() WHERE id = $1 AND state = 'pending'", [id, state, by]);
}

/**
 * Ends what demo people hold open when their logins are turned off: sessions, and API tokens
 * still live. Returns how many of each.
 */
export async function endDemoAccess(tx: AuditedTx): Promise<{ sessions: number; tokens: number }> {
  const demoPeople = 'SELECT p.id FROM identity_people p JOIN identity_idp_accounts a ON a.subject = p.subject WHERE p.issuer = $1 AND a.demo';
  const sessions = await tx.query(`DELETE FROM identity_sessions WHERE person_id IN (${demoPeople}) RETURNING person_id`, [EMBEDDED_ISSUER_ID]);
  const tokens = await tx.query(`UPDATE identity_api_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND person_id IN (${demoPeople}) RETURNING id`, [EMBEDDED_ISSUER_ID]);
  return { sessions: sessions.length, tokens: tokens.length };
}
