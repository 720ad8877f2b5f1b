/**
 * SQL for a person's own governance bookkeeping: notification settings, marking every
 * notification read, and drafts of applications (migration 0020). Writes take the AuditedTx of
 * their audit event; marking read is the reader's own bookkeeping and is not audited (as
 * markNotificationRead in repository.ts).
 */
import type { AuditedTx } from '../audit/index.ts';
import type { Queryable } from '../db/index.ts';
import type { ApplicationDraft, NotificationSettings } from './types.ts';

const iso = (d: Date | string): string => new Date(d).toISOString();

export async function markAllNotificationsRead(q: Queryable, personId: string): Promise<number> {
  return (await q.query('UPDATE governance_notifications SET read_at = now() WHERE person_id = $1 AND read_at IS NULL RETURNING id', [personId])).length;
}

export async function unreadCount(q: Queryable, personId: string): Promise<number> {
  const [row] = await q.query<{ n: string | number }>('SELECT count(*) AS n FROM governance_notifications WHERE person_id = $1 AND read_at IS NULL', [personId]);
  return Number(row?.n ?? 0);
}

/** E-mail is on unless the person turned it off. */
export async function notificationSettings(q: Queryable, personId: string): Promise<NotificationSettings> {
  const [row] = await q.query<{ email: boolean }>('SELECT email FROM governance_notification_settings WHERE person_id = $1', [personId]);
  return { email: row?.email ?? true };
}

export async function saveNotificationSettings(tx: AuditedTx, personId: string, s: NotificationSettings): Promise<void> {
  await tx.query(
    `INSERT INTO governance_notification_settings (person_id, email) VALUES ($1, $2)
     ON CONFLICT (person_id) DO UPDATE SET email = EXCLUDED.email, updated_at = now()`,
    [personId, s.email],
  );
}

interface DraftRow {
  id: string;
  content: unknown;
  step: number;
  created_at: Date;
  updated_at: Date;
}
const toDraft = (r: DraftRow): ApplicationDraft => ({
  id: r.id, content: (typeof r.content === 'string' ? JSON.parse(r.content) : r.content) as Record<string, unknown>, step: r.step, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
});

export async function listDrafts(q: Queryable, personId: string): Promise<ApplicationDraft[]> {
  return (await q.query<DraftRow>('SELECT id, content, step, created_at, updated_at FROM governance_drafts WHERE person_id = $1 ORDER BY updated_at DESC, id', [personId])).map(toDraft);
}

export async function findDraft(q: Queryable, personId: string, id: string): Promise<ApplicationDraft | null> {
  const [row] = await q.query<DraftRow>('SELECT id, content, step, created_at, updated_at FROM governance_drafts WHERE id = $1 AND person_id = $2', [id, personId]);
  return row === undefined ? null : toDraft(row);
}

export async function countDrafts(q: Queryable, personId: string): Promise<number> {
  const [row] = await q.query<{ n: string | number }>('SELECT count(*) AS n FROM governance_drafts WHERE person_id = $1', [personId]);
  return Number(row?.n ?? 0);
}

export async function insertDraft(tx: AuditedTx, d: { id: string; personId: string; content: Record<string, unknown>; step: number }): Promise<void> {
  await tx.query('INSERT INTO governance_drafts (id, person_id, content, step) VALUES ($1, $2, $3::jsonb, $4)', [d.id, d.personId, JSON.stringify(d.content), d.step]);
}

export async function updateDraft(tx: AuditedTx, d: { id: string; personId: string; content: Record<string, unknown>; step: number }): Promise<boolean> {
  return (await tx.query('UPDATE governance_drafts SET content = $3::jsonb, step = $4, updated_at = now() WHERE id = $1 AND person_id = $2 RETURNING id', [d.id, d.personId, JSON.stringify(d.content), d.step])).length > 0;
}

export async function deleteDraft(tx: AuditedTx, personId: string, id: string): Promise<boolean> {
  return (await tx.query('DELETE FROM governance_drafts WHERE id = $1 AND person_id = $2 RETURNING id', [id, personId])).length > 0;
}
