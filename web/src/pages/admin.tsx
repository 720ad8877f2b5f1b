/**
 * Administrators: people and their roles. Granting or removing a reviewing role (ethics, legal,
 * access committee, output checking) is only proposed: a second administrator, neither the
 * proposer nor the person concerned, approves it (the four-eyes rule the API enforces); other
 * roles change at once. Nobody changes their own roles.
 */
import { useState } from 'react';
import { ApiError, get, request } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, ConfirmButton, DataTable, Empty, ErrorState, SelectField, useAsync } from '../kit/index.ts';
import { RequireLogin, useSession } from '../session.tsx';
import { useOpsText } from '../ops-text.ts';
import { useText } from '../text.ts';
import { PageTitle } from './page.tsx';
import type { DemoLogins, DemoLoginChangeResult, Person, RoleChange, RoleChangeResult } from '../api/generated.ts';
import { RoleValues } from '../api/generated.ts';

/** The platform's roles, from the server's own list (through the OpenAPI document). */
const ROLES = RoleValues;
const REVIEWING = new Set<string>(['ethics_reviewer', 'legal_reviewer', 'access_committee', 'output_checker']);

const enc = encodeURIComponent;
const adminApi = {
  people: (s?: AbortSignal) => get<{ people: Person[] }>('/api/v1/identity/people', s).then((r) => r.people),
  pending: (s?: AbortSignal) => get<{ changes: RoleChange[] }>('/api/v1/identity/role-changes?state=pending', s).then((r) => r.changes),
  grant: (personId: string, role: string) => request<RoleChangeResult>('POST', `/api/v1/identity/people/${enc(personId)}/roles`, { role }),
  revoke: (personId: string, role: string) => request<RoleChangeResult>('DELETE', `/api/v1/identity/people/${enc(personId)}/roles/${enc(role)}`),
  decide: (changeId: string, decision: 'approve' | 'reject') => request<RoleChange>('POST', `/api/v1/identity/role-changes/${enc(changeId)}/${decision}`, {}),
  demo: (s?: AbortSignal) => get<DemoLogins>('/api/v1/identity/demo-logins', s),
  setDemo: (enabled: boolean) => request<DemoLoginChangeResult>('POST', '/api/v1/identity/demo-logins', { enabled }),
  decideDemo: (changeId: string, decision: 'approve' | 'reject') => request<DemoLoginChangeResult>('POST', `/api/v1/identity/demo-logins/${enc(changeId)}/${decision}`, {}),
};

export function AdminPage() {
  const x = useText();
  return (
    <>
      <PageTitle>{x.adminTitle}</PageTitle>
      <RequireLogin roles={['admin']}>
        <AdminView />
      </RequireLogin>
    </>
  );
}

function AdminView() {
  const { t, formatDate } = useI18n();
  const x = useText();
  const { me } = useSession();
  const [tick, setTick] = useState(0);
  const state = useAsync(async (s) => {
    const [people, pending, demo] = await Promise.all([adminApi.people(s), adminApi.pending(s), adminApi.demo(s)]);
    return { people, pending, demo };
  }, [tick]);
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const act = async (f: () => Promise<unknown>, done: string): Promise<void> => {
    setError(null);
    setSaid(null);
    try {
      await f();
      setSaid(done);
      setTick((n) => n + 1);
    } catch (e) {
      setError(e instanceof ApiError ? e : null);
    }
  };
  return (
    <>
      <p className="notice">{x.adminFourEyes}</p>
      {said !== null && (
        <p className="notice" role="status" data-testid="admin-said">
          {said}
        </p>
      )}
      {error !== null && <ErrorState error={error} />}
      <Async state={state}>
        {({ people, pending, demo }) => {
          const name = (id: string): string => people.find((p) => p.id === id)?.displayName ?? x.unknownPerson;
          return (
            <>
              <DemoSwitch demo={demo} me={me?.personId} name={name} act={act} />
              <section aria-labelledby="pending-h">
                <h2 id="pending-h">{x.adminPending}</h2>
                {pending.length === 0 ? (
                  <Empty>{x.adminNoPending}</Empty>
                ) : (
                  <DataTable
                    caption={x.adminPending}
                    captionHidden
                    rows={pending}
                    rowKey={(c) => c.id}
                    columns={[
                      { key: 'who', header: x.adminPerson, rowHeader: true, render: (c) => name(c.personId) },
                      { key: 'what', header: x.adminChange, render: (c) => (c.change === 'grant' ? x.adminGrantOf(t.role[c.role] ?? c.role) : x.adminRevokeOf(t.role[c.role] ?? c.role)) },
                      { key: 'by', header: x.adminProposedBy, render: (c) => `${name(c.proposedBy)} · ${formatDate(c.proposedAt)}` },
                      {
                        key: 'decide', header: <span className="visually-hidden">{x.adminDecide}</span>,
                        render: (c) => (
                          <div className="button-row">
                            {c.proposedBy !== me?.personId && c.personId !== me?.personId && (
                              <ConfirmButton label={x.adminApprove} testId={`approve-${c.id}`} question={x.adminApproveQuestion(name(c.personId), t.role[c.role] ?? c.role)} onConfirm={() => act(() => adminApi.decide(c.id, 'approve'), x.adminApproved)} />
                            )}
                            <ConfirmButton label={c.proposedBy === me?.personId ? x.adminWithdraw : x.adminReject} danger testId={`reject-${c.id}`} question={x.adminRejectQuestion} onConfirm={() => act(() => adminApi.decide(c.id, 'reject'), x.adminRejected)} />
                          </div>
                        ),
                      },
                    ]}
                  />
                )}
              </section>
              <section aria-labelledby="people-h">
                <h2 id="people-h">{x.adminPeople}</h2>
                <DataTable
                  caption={x.adminPeople}
                  captionHidden
                  rows={people}
                  rowKey={(p) => p.id}
                  columns={[
                    { key: 'name', header: x.adminPerson, rowHeader: true, sortValue: (p) => p.displayName, render: (p) => <span data-person-name={p.displayName}>{p.displayName}</span> },
                    { key: 'org', header: x.profileOrganisation, render: (p) => p.organisation },
                    {
                      key: 'roles', header: x.adminRoles,
                      render: (p) => (
                        <ul className="role-list">
                          {p.roles.map((r) => (
                            <li key={r}>
                              <Badge tone="info">{t.role[r] ?? r}</Badge>
                              {p.id !== me?.personId && (
                                <ConfirmButton label={<span aria-label={x.adminRemoveRole(t.role[r] ?? r, p.displayName)}>×</span>} testId={`remove-${p.displayName}-${r}`} question={x.adminRemoveQuestion(t.role[r] ?? r, p.displayName, REVIEWING.has(r))} onConfirm={() => act(() => adminApi.revoke(p.id, r), REVIEWING.has(r) ? x.adminProposed : x.adminDone)} />
                              )}
                            </li>
                          ))}
                        </ul>
                      ),
                    },
                    { key: 'grant', header: x.adminGrant, render: (p) => (p.id === me?.personId ? <span className="muted">{x.adminNotYourself}</span> : <GrantRole person={p} onGrant={(role) => act(() => adminApi.grant(p.id, role), REVIEWING.has(role) ? x.adminProposed : x.adminDone)} />) },
                  ]}
                />
              </section>
            </>
          );
        }}
      </Async>
    </>
  );
}

function GrantRole({ person, onGrant }: { readonly person: Person; readonly onGrant: (role: string) => Promise<void> }) {
  const { t } = useI18n();
  const x = useText();
  const options = ROLES.filter((r) => !person.roles.includes(r));
  const [role, setRole] = useState<string>(options[0] ?? '');
  if (options.length === 0) return null;
  return (
    <div className="grant" data-testid={`grant-${person.displayName}`}>
      <SelectField label={x.adminRoleFor(person.displayName)} value={role} onChange={setRole} options={options.map((r) => ({ value: r, label: `${t.role[r] ?? r}${REVIEWING.has(r) ? ` (${x.adminTwoAdmins})` : ''}` }))} />
      <ConfirmButton label={x.adminGrantButton} testId={`grant-button-${person.displayName}`} question={x.adminGrantQuestion(t.role[role] ?? role, person.displayName, REVIEWING.has(role))} onConfirm={() => onGrant(role)} />
    </div>
  );
}

/** The demo logins switch: off at once, on only with a second administrator. */
function DemoSwitch({ demo, me, name, act }: { readonly demo: DemoLogins; readonly me: string | undefined; readonly name: (id: string) => string; readonly act: (f: () => Promise<unknown>, done: string) => Promise<void> }) {
  const { formatDate } = useI18n();
  const x = useText();
  const o = useOpsText();
  const p = demo.pending;
  return (
    <section aria-labelledby="demo-h" data-testid="demo-logins">
      <h2 id="demo-h">{o.demoTitle}</h2>
      <p>{o.demoExplain}</p>
      <p>
        <Badge tone={demo.enabled ? 'warning' : 'success'}>
          <span data-testid="demo-state" data-enabled={String(demo.enabled)}>{demo.enabled ? o.demoOn : o.demoOff}</span>
        </Badge>{' '}
        {demo.enabled && <span className="muted">{demo.listed ? o.demoListed : o.demoNotListed}</span>}
      </p>
      {p !== null && (
        <div className="notice" data-testid="demo-pending">
          <p>{o.demoPending(name(p.proposedBy), formatDate(p.proposedAt))}</p>
          <div className="button-row">
            {p.proposedBy !== me && <ConfirmButton label={x.adminApprove} testId="demo-approve" question={o.demoApproveQuestion} onConfirm={() => act(() => adminApi.decideDemo(p.id, 'approve'), o.demoApproved)} />}
            <ConfirmButton label={p.proposedBy === me ? x.adminWithdraw : x.adminReject} danger testId="demo-reject" question={o.demoRejectQuestion} onConfirm={() => act(() => adminApi.decideDemo(p.id, 'reject'), o.demoRejected)} />
          </div>
        </div>
      )}
      {demo.enabled ? (
        <ConfirmButton label={o.demoTurnOff} danger testId="demo-off" question={o.demoTurnOffQuestion} onConfirm={() => act(() => adminApi.setDemo(false), o.demoTurnedOff)} />
      ) : (
        p === null && <ConfirmButton label={o.demoTurnOn} testId="demo-on" question={o.demoTurnOnQuestion} onConfirm={() => act(() => adminApi.setDemo(true), o.demoProposed)} />
      )}
    </section>
  );
}
