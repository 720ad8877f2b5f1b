/**
 * The auditor's explorer: events filtered by person, project, action and time, a page at a time,
 * with who and what by name; the latest signed checkpoint with its signatures (the log's and its
 * witnesses'); and, for any event, its inclusion in that checkpoint checked here in the browser
 * (audit-verify.ts), not taken on the server's word.
 */
import { useState, type FormEvent } from 'react';
import { get, projectsApi } from '../api.ts';
import { checkInclusion, type InclusionCheck } from '../audit-verify.ts';
import { verifyCheckpoint, type CheckpointVerdict } from '../checkpoint-verify.ts';
import { useOpsText } from '../ops-text.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, DataTable, SelectField, TextField, useAsync } from '../kit/index.ts';
import { RequireLogin } from '../session.tsx';
import { useText } from '../text.ts';
import { parseCheckpoint } from './audit.tsx';
import { PageTitle } from './page.tsx';
import type { AuditEventsPage, AuditKeys, AuditLine as Line, InclusionProof, JsonValue } from '../api/generated.ts';

const PAGE = 25;

export function AuditExplorerPage() {
  const x = useText();
  return (
    <>
      <PageTitle>{x.explorerTitle}</PageTitle>
      <RequireLogin roles={['auditor']}>
        <Explorer />
      </RequireLogin>
    </>
  );
}

interface Filter {
  readonly actor: string;
  readonly project: string;
  readonly action: string;
  readonly since: string;
  readonly until: string;
}
const NO_FILTER: Filter = { actor: '', project: '', action: '', since: '', until: '' };

function Explorer() {
  const { t, formatNumber } = useI18n();
  const x = useText();
  const o = useOpsText();
  const context = useAsync(async (s) => {
    const [people, projects, note, keys] = await Promise.all([
      get<{ people: { id: string; displayName: string }[] }>('/api/v1/identity/people', s).then((r) => r.people),
      projectsApi.list(s),
      get<string>('/api/v1/audit/checkpoint', s),
      get<AuditKeys>('/api/v1/audit/keys', s),
    ]);
    // the checkpoint's signatures, checked here before any proof is checked against its root
    const verdict = await verifyCheckpoint(note, keys.log, keys.witnesses);
    return { people, projects, note, keys, verdict };
  }, []);
  const [draft, setDraft] = useState<Filter>(NO_FILTER);
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const [offset, setOffset] = useState(0);
  const events = useAsync((s) => {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (filter.actor !== '') q.set('actor', filter.actor);
    if (filter.project !== '') q.set('target', `project:${filter.project}`);
    if (filter.action.trim() !== '') q.set('action', filter.action.trim());
    if (filter.since !== '') q.set('since', filter.since);
    if (filter.until !== '') q.set('until', filter.until);
    return get<AuditEventsPage>(`/api/v1/audit/events?${q.toString()}`, s);
  }, [filter, offset]);
  const [checks, setChecks] = useState<Readonly<Record<number, InclusionCheck | 'pending'>>>({});
  const apply = (e: FormEvent): void => {
    e.preventDefault();
    setFilter(draft);
    setOffset(0);
  };
  const set = (k: keyof Filter) => (v: string): void => setDraft((d) => ({ ...d, [k]: v }));
  return (
    <Async state={context}>
      {({ people, projects, note, keys, verdict }) => {
        const cp = parseCheckpoint(note);
        const signatures = note.split('\n').filter((l) => l.startsWith('\u2014 ')).length;
        const name = (id: string): string => people.find((p) => p.id === id)?.displayName ?? id;
        const targetLabel = (target: string): string => {
          const m = /^project:([^:]+)/.exec(target);
          const title = m === null ? undefined : projects.find((p) => p.id === m[1])?.title;
          return title === undefined ? target : `${x.explorerProject} « ${title} »${target.length > `project:${m?.[1] ?? ''}`.length ? target.slice(`project:${m?.[1] ?? ''}`.length) : ''}`;
        };
        const check = async (l: Line): Promise<void> => {
          if (l.event === null || cp === null) return;
          setChecks((c) => ({ ...c, [l.index]: 'pending' }));
          const proof = await get<InclusionProof>(`/api/v1/audit/proof/inclusion?index=${l.index}&size=${cp.size}`);
          const result = await checkInclusion(l.event as unknown as JsonValue, l.index, proof, cp.root);
          // a proof leads to a root only as trustworthy as the signatures over it
          const trusted = !verdict.supported || verdict.ok;
          setChecks((c) => ({ ...c, [l.index]: result.ok && !trusted ? { ok: false, reason: 'root', detail: 'checkpoint signatures' } : result }));
        };
        return (
          <>
            {cp !== null && (
              <section aria-labelledby="cp-h" className="notice" data-testid="explorer-checkpoint">
                <h2 id="cp-h">{x.explorerCheckpoint}</h2>
                <p>{x.explorerCheckpointSays(formatNumber(Number(cp.size)), signatures)}</p>
                <p className="small">
                  {t.auditRoot} <code className="break">{cp.root}</code>
                </p>
                <CheckpointSignatures verdict={verdict} keys={keys} />
              </section>
            )}
            <form onSubmit={apply} aria-labelledby="filter-h" data-testid="explorer-filter">
              <h2 id="filter-h">{x.explorerFilter}</h2>
              <div className="three-col">
                <SelectField label={x.explorerPerson} value={draft.actor} onChange={set('actor')} options={[{ value: '', label: x.qAll }, ...people.map((p) => ({ value: p.id, label: p.displayName }))]} />
                <SelectField label={x.explorerProjectLabel} value={draft.project} onChange={set('project')} options={[{ value: '', label: x.qAll }, ...projects.map((p) => ({ value: p.id, label: p.title }))]} />
                <TextField label={x.explorerAction} hint={x.explorerActionHint} value={draft.action} onChange={set('action')} name="action" />
              </div>
              <div className="two-col">
                <TextField label={x.explorerSince} type="date" value={draft.since} onChange={set('since')} name="since" />
                <TextField label={x.explorerUntil} type="date" value={draft.until} onChange={set('until')} name="until" />
              </div>
              <button type="submit" className="button button-primary">
                {x.explorerApply}
              </button>
            </form>
            <Async state={events}>
              {(page) => (
                <section aria-labelledby="events-h">
                  <h2 id="events-h">{x.explorerEvents}</h2>
                  <p className="muted" role="status" data-testid="explorer-total">
                    {x.explorerCount(formatNumber(page.total))}
                  </p>
                  <DataTable
                    caption={x.explorerEvents}
                    captionHidden
                    rows={page.events}
                    rowKey={(l) => String(l.index)}
                    columns={[
                      { key: 'seq', header: x.colSeq, className: 'num', render: (l) => l.index },
                      { key: 'when', header: x.colWhen, render: (l) => (l.event === null ? '—' : l.event.time.replace('T', ' ').slice(0, 19)) },
                      { key: 'what', header: x.colWhat, rowHeader: true, render: (l) => (l.event === null ? x.explorerArchived : <span data-action={l.event.action}>{x.trailAction(l.event.action)}</span>) },
                      { key: 'who', header: x.colWho, render: (l) => (l.event === null ? '—' : l.event.actor.kind === 'service' ? `${x.trailService} (${l.event.actor.id})` : name(l.event.actor.id)) },
                      { key: 'target', header: x.explorerTarget, render: (l) => (l.event === null ? '—' : targetLabel(l.event.target)) },
                      { key: 'outcome', header: x.colOutcome, render: (l) => (l.event === null ? '—' : <Badge tone={l.event.outcome === 'success' ? 'success' : 'danger'}>{x.outcome[l.event.outcome] ?? l.event.outcome}</Badge>) },
                      {
                        key: 'proof', header: x.explorerProof,
                        render: (l) => {
                          const c = checks[l.index];
                          if (l.event === null) return '—';
                          if (cp === null || l.index >= Number(cp.size)) return <span className="muted">{x.explorerNotYet}</span>;
                          if (c === undefined) {
                            return (
                              <button type="button" className="button button-small" onClick={() => void check(l)} data-testid={`check-${l.index}`} aria-label={x.explorerCheckLabel(l.index)}>
                                {x.explorerCheck}
                              </button>
                            );
                          }
                          if (c === 'pending') return <span className="muted">{t.loading}</span>;
                          return c.ok ? (
                            <Badge tone="success">
                              <span data-proof="ok" data-testid={`proof-${l.index}`}>{x.explorerIncluded(formatNumber(c.treeSize))}</span>
                            </Badge>
                          ) : (
                            <Badge tone="danger">
                              <span data-proof="bad" data-testid={`proof-${l.index}`} title={c.detail}>{c.detail === 'checkpoint signatures' ? o.cpUntrusted : x.explorerNotIncluded}</span>
                            </Badge>
                          );
                        },
                      },
                    ]}
                  />
                  <p className="button-row">
                    <button type="button" className="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                      {t.previous}
                    </button>
                    <button type="button" className="button" disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)}>
                      {t.next}
                    </button>
                  </p>
                </section>
              )}
            </Async>
          </>
        );
      }}
    </Async>
  );
}

/** What this browser found of the checkpoint's signatures: the log's, then each witness's. */
function CheckpointSignatures({ verdict, keys }: { readonly verdict: CheckpointVerdict; readonly keys: AuditKeys }) {
  const { formatDate } = useI18n();
  const o = useOpsText();
  if (!verdict.supported) {
    return (
      <p className="field-error" data-testid="cp-verdict" data-ok="unsupported">
        {o.cpUnsupported}
      </p>
    );
  }
  const tone = (s: string) => (s === 'valid' ? 'success' : 'danger') as 'success' | 'danger';
  return (
    <div data-testid="cp-verdict" data-ok={String(verdict.ok)}>
      <p>{o.cpChecked}</p>
      <ul>
        <li data-testid="cp-log" data-status={verdict.log.status}>
          {o.cpLog(verdict.log.name)} <Badge tone={tone(verdict.log.status)}>{o.cpStatus[verdict.log.status]}</Badge>
        </li>
        {verdict.witnesses.map((w) => (
          <li key={w.name} data-testid="cp-witness" data-status={w.status}>
            {o.cpWitness(w.name)} <Badge tone={tone(w.status)}>{o.cpStatus[w.status]}</Badge>
            {w.time !== null && o.cpAt(formatDate(new Date(w.time * 1000).toISOString()))}
          </li>
        ))}
      </ul>
      {verdict.witnesses.length === 0 && <p className="muted">{o.cpNoWitness}</p>}
      <details>
        <summary>{o.cpKeys}</summary>
        <ul className="small">
          {[keys.log, ...keys.witnesses].map((k) => (
            <li key={k}>
              <code className="break">{k}</code>
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}
