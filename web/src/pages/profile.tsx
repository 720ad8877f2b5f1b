/**
 * A person's own pages: the profile (who I am, my roles, my API tokens, my notification
 * settings) and the notifications (unread count in the header, "mark all read").
 */
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, get, projectsApi, request, type Notification, type NotificationSettings, type Project } from '../api.ts';
import type { ApiResponse } from '../api/generated.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, ConfirmButton, DataTable, Empty, ErrorState, SelectField, TextField, useAsync } from '../kit/index.ts';
import { href, Link, useRouter } from '../router.tsx';
import { RequireLogin, useSession } from '../session.tsx';
import { useText, type PortalText } from '../text.ts';
import { PageTitle } from './page.tsx';
import type { Messages } from '../i18n.tsx';

type ApiToken = ApiResponse<'GET /identity/me/tokens'>['tokens'][number];

const enc = encodeURIComponent;
const personal = {
  me: (s?: AbortSignal) => get<ApiResponse<'GET /identity/me'>>('/api/v1/identity/me', s),
  tokens: (s?: AbortSignal) => get<ApiResponse<'GET /identity/me/tokens'>>('/api/v1/identity/me/tokens', s).then((r) => r.tokens),
  createToken: (b: { projectId: string; days: number; label: string }) => request<ApiResponse<'POST /identity/me/tokens'>>('POST', '/api/v1/identity/me/tokens', b),
  revokeToken: (id: string) => request<unknown>('DELETE', `/api/v1/identity/me/tokens/${enc(id)}`),
  settings: (s?: AbortSignal) => get<NotificationSettings>('/api/v1/governance/notifications/settings', s),
  saveSettings: (b: NotificationSettings) => request<NotificationSettings>('PUT', '/api/v1/governance/notifications/settings', b),
  notifications: (s?: AbortSignal) => get<ApiResponse<'GET /governance/notifications'>>('/api/v1/governance/notifications', s).then((r) => r.notifications),
  unreadCount: (s?: AbortSignal) => get<ApiResponse<'GET /governance/notifications/unread-count'>>('/api/v1/governance/notifications/unread-count', s).then((r) => r.unread),
  markAllRead: () => request<ApiResponse<'POST /governance/notifications/read-all'>>('POST', '/api/v1/governance/notifications/read-all').then((r) => r.marked),
  markRead: (id: string) => request<unknown>('POST', `/api/v1/governance/notifications/${enc(id)}/read`),
};

/** Other pages tell the header's count that notifications were read (no shared store needed). */
const NOTIFICATIONS_CHANGED = 'enclave:notifications-changed';
function notificationsChanged(): void {
  window.dispatchEvent(new Event(NOTIFICATIONS_CHANGED));
}

export function ProfilePage() {
  const x = useText();
  return (
    <>
      <PageTitle>{x.profileTitle}</PageTitle>
      <RequireLogin>
        <Identity />
        <Tokens />
        <Settings />
      </RequireLogin>
    </>
  );
}

function Identity() {
  const { t } = useI18n();
  const x = useText();
  const state = useAsync((s) => personal.me(s), []);
  return (
    <section aria-labelledby="identity-h">
      <h2 id="identity-h">{x.profileIdentity}</h2>
      <Async state={state}>
        {({ person, roles }) => (
          <>
            <dl className="facts" data-testid="profile-identity">
              <dt>{x.profileName}</dt>
              <dd>{person.displayName}</dd>
              {person.email !== null && (
                <>
                  <dt>{x.profileEmail}</dt>
                  <dd>{person.email}</dd>
                </>
              )}
              <dt>{x.profileOrganisation}</dt>
              <dd>{person.organisation}</dd>
            </dl>
            <h3>{x.profileRoles}</h3>
            {roles.length === 0 ? (
              <p>{x.profileNoRole}</p>
            ) : (
              <ul className="role-list" data-testid="profile-roles">
                {roles.map((r) => (
                  <li key={r}>
                    <Badge tone="info">{t.role[r] ?? r}</Badge>
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </Async>
    </section>
  );
}

function tokenState(tk: ApiToken, x: PortalText): { label: string; tone: 'success' | 'neutral' | 'danger' } {
  if (tk.revokedAt !== null) return { label: x.tokenRevoked, tone: 'danger' };
  if (new Date(tk.expiresAt).getTime() <= Date.now()) return { label: x.tokenExpired, tone: 'neutral' };
  return { label: x.tokenActive, tone: 'success' };
}

function Tokens() {
  const { formatDate } = useI18n();
  const x = useText();
  const tokens = useAsync((s) => personal.tokens(s), []);
  const projects = useAsync((s) => projectsApi.list(s), []);
  const [created, setCreated] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const titleOf = (id: string): string => (projects.status === 'ok' ? projects.data.find((p) => p.id === id)?.title : undefined) ?? id;
  return (
    <section aria-labelledby="tokens-h">
      <h2 id="tokens-h">{x.tokensTitle}</h2>
      <p>{x.tokensIntro}</p>
      {created !== null && (
        <div className="notice notice-warning" role="status" data-testid="token-created">
          <p>{x.tokenCreated}</p>
          <p>
            <code className="secret">{created}</code>
          </p>
        </div>
      )}
      {done !== null && (
        <p className="notice" role="status" data-testid="token-done">
          {done}
        </p>
      )}
      {error !== null && <ErrorState error={error} />}
      <Async state={tokens}>
        {(list) =>
          list.length === 0 ? (
            <Empty>{x.tokensEmpty}</Empty>
          ) : (
            <DataTable
              caption={x.tokensTitle}
              captionHidden
              rows={list}
              rowKey={(tk) => tk.id}
              columns={[
                { key: 'label', header: x.tokenLabel, rowHeader: true, render: (tk) => tk.label === '' ? '—' : tk.label },
                { key: 'project', header: x.tokenProject, render: (tk) => <Link to={href('projects', tk.projectId)}>{titleOf(tk.projectId)}</Link> },
                { key: 'created', header: x.tokenCreatedAt, render: (tk) => formatDate(tk.createdAt) },
                { key: 'expires', header: x.tokenExpires, render: (tk) => formatDate(tk.expiresAt) },
                { key: 'state', header: x.tokenState, render: (tk) => { const st = tokenState(tk, x); return <Badge tone={st.tone}><span data-token-state={st.label}>{st.label}</span></Badge>; } },
                {
                  key: 'revoke', header: <span className="visually-hidden">{x.tokenRevoke}</span>,
                  render: (tk) => tk.revokedAt === null && tokenState(tk, x).label === x.tokenActive ? (
                    <ConfirmButton
                      label={x.tokenRevoke}
                      danger
                      testId={`revoke-${tk.id}`}
                      question={x.tokenRevokeConfirm(tk.label === '' ? titleOf(tk.projectId) : tk.label)}
                      onConfirm={async () => {
                        setError(null);
                        try {
                          await personal.revokeToken(tk.id);
                          setCreated(null);
                          setDone(x.tokenRevokedDone);
                          tokens.reload();
                        } catch (e) {
                          setError(e instanceof ApiError ? e : null);
                        }
                      }}
                    />
                  ) : null,
                },
              ]}
            />
          )
        }
      </Async>
      <Async state={projects}>
        {(list) => (list.length === 0 ? <p>{x.tokenNoProject}</p> : <NewToken projects={list} onCreated={(secret) => { setCreated(secret); setDone(null); tokens.reload(); }} />)}
      </Async>
    </section>
  );
}

function NewToken({ projects, onCreated }: { readonly projects: readonly Project[]; readonly onCreated: (secret: string) => void }) {
  const x = useText();
  const [projectId, setProjectId] = useState(projects[0]?.id ?? '');
  const [days, setDays] = useState('30');
  const [label, setLabel] = useState('');
  const [daysError, setDaysError] = useState<string | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const n = Number(days);
    if (!/^\d{1,2}$/.test(days.trim()) || n < 1 || n > 90) {
      setDaysError(x.tokenDaysError);
      return;
    }
    setDaysError(undefined);
    setError(null);
    setBusy(true);
    try {
      const t = await personal.createToken({ projectId, days: n, label: label.trim() });
      setLabel('');
      onCreated(t.token);
    } catch (err) {
      setError(err instanceof ApiError ? err : null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="new-token-h" data-testid="token-form">
      <h3 id="new-token-h">{x.tokenCreate}</h3>
      <SelectField label={x.tokenProject} hint={x.tokenScopeHint} value={projectId} onChange={setProjectId} options={projects.map((p) => ({ value: p.id, label: p.title }))} />
      <div className="two-col">
        <TextField label={x.tokenDays} hint={x.tokenDaysHint} value={days} onChange={setDays} inputMode="numeric" name="days" error={daysError} required />
        <TextField label={x.tokenLabel} hint={x.tokenLabelHint} value={label} onChange={setLabel} name="label" />
      </div>
      {error !== null && <ErrorState error={error} />}
      <button type="submit" className="button button-primary" disabled={busy || projectId === ''}>
        {x.tokenCreate}
      </button>
    </form>
  );
}

function Settings() {
  const x = useText();
  const state = useAsync((s) => personal.settings(s), []);
  return (
    <section aria-labelledby="settings-h">
      <h2 id="settings-h">{x.settingsTitle}</h2>
      <Async state={state}>{(s) => <SettingsForm initial={s.email} />}</Async>
    </section>
  );
}

function SettingsForm({ initial }: { readonly initial: boolean }) {
  const x = useText();
  const [email, setEmail] = useState(initial);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      const r = await personal.saveSettings({ email });
      setEmail(r.email);
      setSaved(true);
    } catch (err) {
      setError(err instanceof ApiError ? err : null);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} data-testid="settings-form">
      <p className="check">
        <input id="settings-email" type="checkbox" checked={email} onChange={(e) => { setEmail(e.target.checked); setSaved(false); }} aria-describedby="settings-email-hint" />{' '}
        <label htmlFor="settings-email">{x.settingsEmail}</label>
      </p>
      <p id="settings-email-hint" className="field-hint">
        {x.settingsEmailHint}
      </p>
      {error !== null && <ErrorState error={error} />}
      {saved && (
        <p className="notice" role="status" data-testid="settings-saved">
          {x.settingsSaved}
        </p>
      )}
      <button type="submit" className="button button-primary">
        {x.settingsSave}
      </button>
    </form>
  );
}

/**
 * A notification said in the page's language from its kind (`project.<status>`,
 * `amendment.<status>`) and the project's title; the server's English sentence only when the
 * kind is one the portal does not know.
 */
export function notificationText(n: Notification, title: string | undefined, t: Messages, x: PortalText): string {
  const dot = n.kind.indexOf('.');
  const family = n.kind.slice(0, dot);
  const status = n.kind.slice(dot + 1);
  const name = title ?? /"([^"]*)"/.exec(n.message)?.[1];
  if (name !== undefined && family === 'project' && t.status[status] !== undefined) return x.projectNow(name, t.status[status].toLowerCase());
  if (name !== undefined && family === 'amendment' && x.amendmentStatus[status] !== undefined) return x.amendmentNow(name, x.amendmentStatus[status]);
  return n.message;
}

export function NotificationsPage() {
  const x = useText();
  return (
    <>
      <PageTitle>{x.notificationsTitle}</PageTitle>
      <RequireLogin>
        <NotificationList />
      </RequireLogin>
    </>
  );
}

function NotificationList() {
  const { t, formatDate } = useI18n();
  const x = useText();
  const state = useAsync(async (s) => {
    const [list, projects] = await Promise.all([personal.notifications(s), projectsApi.list(s)]);
    return { list, titles: new Map(projects.map((p) => [p.id, p.title])) };
  }, []);
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <Async state={state}>
      {({ list, titles }) => (
        <>
          <p className="button-row">
            <button
              type="button"
              className="button"
              data-testid="mark-all-read"
              disabled={list.every((n) => n.readAt !== null)}
              onClick={() => {
                setError(null);
                personal.markAllRead().then(
                  (n) => {
                    setSaid(x.markedAllRead(n));
                    notificationsChanged();
                    state.reload();
                  },
                  (e: unknown) => setError(e instanceof ApiError ? e : null),
                );
              }}
            >
              {x.markAllRead}
            </button>
          </p>
          {said !== null && (
            <p className="notice" role="status" data-testid="marked">
              {said}
            </p>
          )}
          {error !== null && <ErrorState error={error} />}
          {list.length === 0 ? (
            <Empty>{x.notificationsEmpty}</Empty>
          ) : (
            <ul className="notification-list" data-testid="notification-list">
              {list.map((n) => {
                const text = notificationText(n, n.projectId === null ? undefined : titles.get(n.projectId), t, x);
                return (
                  <li key={n.id} className={n.readAt === null ? 'unread' : 'read'} data-read={n.readAt !== null}>
                    <Badge tone={n.readAt === null ? 'info' : 'neutral'}>{n.readAt === null ? x.unread : x.read}</Badge>{' '}
                    {n.projectId === null ? (
                      text
                    ) : (
                      <Link
                        to={href('projects', n.projectId)}
                        onClick={() => {
                          if (n.readAt === null) void personal.markRead(n.id).then(notificationsChanged, () => undefined);
                        }}
                      >
                        {text}
                      </Link>
                    )}{' '}
                    <span className="muted small">{formatDate(n.createdAt)}</span>
                  </li>
                );
              })}
            </ul>
          )}
        </>
      )}
    </Async>
  );
}

/** The header's way to the notifications, with the unread count (asked again on each page change). */
export function NotificationBell() {
  const x = useText();
  const { me } = useSession();
  const { path } = useRouter();
  const [unread, setUnread] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const on = (): void => setTick((n) => n + 1);
    window.addEventListener(NOTIFICATIONS_CHANGED, on);
    return () => window.removeEventListener(NOTIFICATIONS_CHANGED, on);
  }, []);
  useEffect(() => {
    if (me === null || me === undefined) return undefined;
    const ac = new AbortController();
    personal.unreadCount(ac.signal).then(setUnread, () => undefined);
    return () => ac.abort();
  }, [me, path, tick]);
  if (me === null || me === undefined) return null;
  const n = unread ?? 0;
  return (
    <Link to="/notifications" className="button button-ghost bell" aria-label={x.notificationsLink(n)} data-testid="notifications-link">
      <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18" className="bell-icon">
        <path d="M12 3a6 6 0 0 0-6 6v4l-2 3h16l-2-3V9a6 6 0 0 0-6-6zm0 18a2.5 2.5 0 0 0 2.4-2h-4.8A2.5 2.5 0 0 0 12 21z" />
      </svg>
      {n > 0 && (
        <span className="bell-count" data-testid="unread-count">
          {n}
        </span>
      )}
    </Link>
  );
}

