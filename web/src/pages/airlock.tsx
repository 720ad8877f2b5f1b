/**
 * The airlock in the portal (issue 13): a member builds a release request from the workspace's
 * saved tables and submits it; a checker sees each output as a table with the flagged cells
 * highlighted and the rule's reason beside them, the conflicts with earlier releases, the proposed
 * safe version, and the decision form; members download the signed bundle once released.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { ApiError, projectsApi } from '../api.ts';
import { Async, Badge, Empty, ErrorState, TextField, useAsync, type Tone } from '../kit/index.ts';
import { href, Link, useRouter } from '../router.tsx';
import { RequireLogin, useSession } from '../session.tsx';
import { workspaceApi } from '../workspace-api.ts';
import { airlockApi, REASONS, type CellValue, type DisclosureFlag, type OutputReport, type ReleaseOutput, type ReleaseRequest, type RequestDetail, type RequestStatus, type VoteDecision } from './airlock-api.ts';
import { useAirlockText } from './airlock-text.ts';
import { Breadcrumbs, PageTitle } from './page.tsx';

const asApiError = (e: unknown): ApiError => (e instanceof ApiError ? e : new ApiError({ status: 0, code: 'client', title: 'error', detail: e instanceof Error ? e.message : String(e) }));

const STATUS_TONE: Readonly<Record<RequestStatus, Tone>> = { draft: 'neutral', submitted: 'info', in_review: 'info', returned: 'warning', released: 'success', rejected: 'danger', withdrawn: 'neutral' };

function StatusBadge({ status }: { readonly status: RequestStatus }) {
  const { a } = useAirlockText();
  return <Badge tone={STATUS_TONE[status]}><span data-testid="request-status" data-status={status}>{a.status[status]}</span></Badge>;
}

function RequestList({ requests }: { readonly requests: readonly ReleaseRequest[] }) {
  const { a } = useAirlockText();
  if (requests.length === 0) return <Empty>{a.listEmpty}</Empty>;
  return (
    <table className="data-table" data-testid="airlock-requests">
      <thead>
        <tr>
          <th scope="col">{a.colTitle}</th>
          <th scope="col">{a.colStatus}</th>
          <th scope="col">{a.colSubmitted}</th>
        </tr>
      </thead>
      <tbody>
        {requests.map((r) => (
          <tr key={r.id}>
            <th scope="row">
              <Link to={href('airlock', 'requests', r.id)} aria-label={a.openRequest(r.title)}>{r.title}</Link>
            </th>
            <td><StatusBadge status={r.status} /></td>
            <td>{r.submittedAt === null ? '—' : new Date(r.submittedAt).toISOString().slice(0, 16).replace('T', ' ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The checkers' queue: requests submitted or under review. */
export function AirlockQueuePage() {
  return (
    <RequireLogin>
      <Queue />
    </RequireLogin>
  );
}

function Queue() {
  const { a } = useAirlockText();
  const list = useAsync((s) => airlockApi.list({}, s), []);
  return (
    <>
      <PageTitle>{a.queueTitle}</PageTitle>
      <p className="muted">{a.intro}</p>
      <Async state={list}>{(rs) => {
        const open = rs.filter((r) => r.status === 'submitted' || r.status === 'in_review');
        return open.length === 0 ? <Empty>{a.queueEmpty}</Empty> : <RequestList requests={open} />;
      }}</Async>
    </>
  );
}

/** A project's release requests and the form that builds a new one from saved tables. */
export function AirlockProjectPage({ id }: { readonly id: string }) {
  return (
    <RequireLogin>
      <ProjectAirlock id={id} key={id} />
    </RequireLogin>
  );
}

function ProjectAirlock({ id }: { readonly id: string }) {
  const { a } = useAirlockText();
  const project = useAsync((s) => projectsApi.get(id, s), [id]);
  const list = useAsync((s) => airlockApi.list({ projectId: id }, s), [id]);
  const title = project.status === 'ok' ? project.data.project.title : id;
  return (
    <>
      <Breadcrumbs items={[{ label: title, to: href('projects', id) }, { label: a.title }]} />
      <PageTitle title={a.projectTitle(title)}>{a.projectTitle(title)}</PageTitle>
      <p className="muted">{a.intro}</p>
      <p><Link to={href('projects', id, 'workspace')}>{a.toWorkspace}</Link></p>
      <Async state={list}>{(rs) => <RequestList requests={rs} />}</Async>
      <NewRequest projectId={id} />
    </>
  );
}

/** `column: definition` lines → an object of the table's columns. */
function parseVariables(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim();
    const v = line.slice(i + 1).trim();
    if (k !== '' && v !== '') out[k] = v;
  }
  return out;
}

function NewRequest({ projectId }: { readonly projectId: string }) {
  const { a } = useAirlockText();
  const { navigate } = useRouter();
  const ws = useMemo(() => workspaceApi(projectId), [projectId]);
  const tables = useAsync((s) => ws.tables(s), [ws]);
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [population, setPopulation] = useState('');
  const [picked, setPicked] = useState<Record<string, { description: string; variables: string; underlying: string }>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ApiError | null>(null);

  const onSubmit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (title.trim() === '') errs['title'] = a.errRequired;
    if (description.trim() === '') errs['description'] = a.errRequired;
    if (population.trim() === '') errs['population'] = a.errRequired;
    const chosen = Object.entries(picked);
    if (chosen.length === 0) errs['tables'] = a.errNoTable;
    for (const [t, p] of chosen) if (p.description.trim() === '') errs[`t:${t}`] = a.errRequired;
    setErrors(errs);
    if (Object.keys(errs).length > 0) return;
    setBusy(true);
    setFailure(null);
    try {
      const r = await airlockApi.create({ projectId, title, description, population });
      for (const [table, p] of chosen) {
        await airlockApi.addOutput(r.request.id, { table, description: p.description, variables: parseVariables(p.variables), ...(p.underlying.trim() === '' ? {} : { underlyingCounts: p.underlying }) });
      }
      navigate(href('airlock', 'requests', r.request.id));
    } catch (err) {
      setFailure(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="airlock-new-h">
      <h2 id="airlock-new-h">{a.newRequest}</h2>
      <form onSubmit={(e) => void onSubmit(e)} noValidate data-testid="airlock-new">
        <TextField label={a.fTitle} required value={title} onChange={setTitle} error={errors['title']} name="title" />
        <TextField label={a.fDescription} required multiline value={description} onChange={setDescription} error={errors['description']} name="description" />
        <TextField label={a.fPopulation} hint={a.fPopulationHint} required multiline value={population} onChange={setPopulation} error={errors['population']} name="population" />
        <fieldset className="airlock-tables" aria-describedby="airlock-tables-hint">
          <legend>{a.fTables}</legend>
          <p id="airlock-tables-hint" className="field-hint">{a.fTablesHint}</p>
          {errors['tables'] !== undefined && <p className="field-error" role="alert">{errors['tables']}</p>}
          <Async state={tables}>{(ts) => {
            const saved = ts.filter((t) => t.schema === 'scratch' && t.kind === 'table');
            if (saved.length === 0) return <Empty>{a.noTables}</Empty>;
            return saved.map((t) => {
              const p = picked[t.name];
              return (
                <div key={t.name} className="airlock-table-pick">
                  <label>
                    <input type="checkbox" checked={p !== undefined} data-testid={`pick-${t.name}`} onChange={(e) => {
                      const next = { ...picked };
                      if (e.target.checked) next[t.name] = { description: '', variables: t.columns.map((c) => `${c.name}: `).join('\n'), underlying: '' };
                      else delete next[t.name];
                      setPicked(next);
                    }} />
                    {' '}<code>{t.name}</code> <span className="muted small">({t.columns.map((c) => c.name).join(', ')})</span>
                  </label>
                  {p !== undefined && (
                    <>
                      <TextField label={a.fTableDescription(t.name)} required multiline value={p.description} error={errors[`t:${t.name}`]} name={`describe-${t.name}`} onChange={(v) => setPicked({ ...picked, [t.name]: { ...p, description: v } })} />
                      <TextField label={a.fVariables(t.name)} multiline value={p.variables} name={`variables-${t.name}`} onChange={(v) => setPicked({ ...picked, [t.name]: { ...p, variables: v } })} />
                      <TextField label={a.fUnderlying(t.name)} multiline value={p.underlying} name={`underlying-${t.name}`} onChange={(v) => setPicked({ ...picked, [t.name]: { ...p, underlying: v } })} />
                    </>
                  )}
                </div>
              );
            });
          }}</Async>
        </fieldset>
        {failure !== null && <ErrorState error={failure} />}
        <div className="button-row">
          <button type="submit" className="button button-primary" disabled={busy} data-testid="airlock-create">{a.create}</button>
        </div>
      </form>
    </section>
  );
}

/** One request: context, outputs with their report, votes, and what this person may do. */
export function AirlockRequestPage({ rid }: { readonly rid: string }) {
  return (
    <RequireLogin>
      <RequestView rid={rid} key={rid} />
    </RequireLogin>
  );
}

function RequestView({ rid }: { readonly rid: string }) {
  const { a } = useAirlockText();
  const { me, hasRole } = useSession();
  const state = useAsync((s) => airlockApi.get(rid, s), [rid]);
  return (
    <Async state={state}>{(d) => (
      <>
        {/* members go back to their project's requests, checkers to their queue */}
        <Breadcrumbs items={[{ label: a.title, to: hasRole('output_checker') && !(d.request.createdBy === me?.personId || d.actions.some((x) => x !== 'review') || d.canDownload) ? '/airlock' : href('projects', d.request.projectId, 'airlock') }, { label: d.request.title }]} />
        <PageTitle title={d.request.title}>{d.request.title} <StatusBadge status={d.request.status} /></PageTitle>
        <RequestBody d={d} reload={state.reload} />
      </>
    )}</Async>
  );
}

function RequestBody({ d, reload }: { readonly d: RequestDetail; readonly reload: () => void }) {
  const { a } = useAirlockText();
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setFailure(null);
    try {
      await fn();
      reload();
    } catch (e) {
      setFailure(asApiError(e));
    } finally {
      setBusy(false);
    }
  };
  const id = d.request.id;
  return (
    <>
      <section aria-labelledby="airlock-context-h" className="card">
        <h2 id="airlock-context-h">{a.context}</h2>
        <p data-testid="request-description">{d.request.description}</p>
        <p><strong>{a.population} : </strong>{d.request.population}</p>
        {d.report !== null && <p data-testid="report-summary">{a.reportSummary(d.report.summary.blocks, d.report.summary.reviews, d.report.summary.cellsChecked)}</p>}
      </section>
      {failure !== null && <ErrorState error={failure} />}
      {(d.actions.includes('submit') || d.actions.includes('withdraw')) && (
        <div className="button-row">
          {d.actions.includes('submit') && <button type="button" className="button button-primary" disabled={busy} onClick={() => void act(() => airlockApi.submit(id))} data-testid="airlock-submit">{a.submit}</button>}
          {d.actions.includes('withdraw') && <button type="button" className="button" disabled={busy} onClick={() => { if (window.confirm(a.withdrawConfirm)) void act(() => airlockApi.withdraw(id)); }} data-testid="airlock-withdraw">{a.withdraw}</button>}
        </div>
      )}
      {d.canDownload && d.release !== null && (
        <section aria-labelledby="airlock-release-h" className="card" data-testid="airlock-release">
          <h2 id="airlock-release-h">{a.released(d.release.bundleSha256)}</h2>
          <p className="muted small">{a.bundleHelp}</p>
          <div className="button-row">
            <a className="button button-primary" href={airlockApi.bundleUrl(id)} download data-testid="airlock-download">{a.download}</a>
            {d.release.outputs.map((o) => <a key={o.name} className="button" href={airlockApi.fileUrl(id, o.name)} download>{a.downloadCsv(o.name)}</a>)}
          </div>
        </section>
      )}
      <h2>{a.outputs}</h2>
      {d.actions.includes('edit') && d.outputs.length > 0 && <p className="muted small">{a.changeHint}</p>}
      {d.outputs.map((o) => (
        <div key={o.id}>
          <OutputView d={d} o={o} report={d.report?.outputs.find((r) => r.name === o.name) ?? null} />
          {d.actions.includes('edit') && (
            <div className="button-row">
              <button type="button" className="button button-small" disabled={busy} onClick={() => void act(() => airlockApi.updateOutput(id, o.id, { refresh: true }))} data-testid={`refresh-${o.name}`}>{a.refresh(o.name)}</button>
              <button type="button" className="button button-small" disabled={busy} onClick={() => void act(() => airlockApi.removeOutput(id, o.id))}>{a.remove(o.name)}</button>
            </div>
          )}
        </div>
      ))}
      <Votes d={d} />
      {d.actions.includes('review') && <ReviewForm d={d} onDone={reload} />}
    </>
  );
}

/** A table of rows with the flagged cells highlighted, each marked with the number of its reason below. */
function FlaggedTable({ columns, rows, flags, testId, caption }: { readonly columns: readonly string[]; readonly rows: readonly (readonly CellValue[])[]; readonly flags: readonly DisclosureFlag[]; readonly testId: string; readonly caption: string }) {
  const { a } = useAirlockText();
  const byCell = new Map<string, { readonly n: number; readonly flag: DisclosureFlag }[]>();
  flags.forEach((f, i) => {
    if (f.cell === null) return;
    const k = `${f.cell.row}:${f.cell.column}`;
    byCell.set(k, [...(byCell.get(k) ?? []), { n: i + 1, flag: f }]);
  });
  return (
    <div className="ws-grid">
      <table className="data-table airlock-table" data-testid={testId}>
        <caption className="muted small">{caption}</caption>
        <thead>
          <tr>{columns.map((c) => <th key={c} scope="col">{c}</th>)}</tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {columns.map((c, j) => {
                const fs = byCell.get(`${i}:${c}`) ?? [];
                const sev = fs.some((x) => x.flag.severity === 'block') ? 'block' : fs.length > 0 ? 'review' : null;
                const v = r[j] ?? null;
                return (
                  <td key={c} className={`${typeof v === 'number' ? 'num' : ''}${sev === null ? '' : ` cell-flag cell-flag-${sev}`}`} data-flag={sev ?? undefined} data-rules={fs.map((x) => x.flag.rule).join(' ') || undefined}>
                    {v === null ? '—' : String(v)}
                    {fs.map((x) => <sup key={x.n} className="cell-flag-ref"><a href={`#${testId}-flag-${x.n}`} aria-label={`${x.n} ${a.cellFlagLabel(x.flag.rule)}`}>{x.n}</a></sup>)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OutputView({ d, o, report }: { readonly d: RequestDetail; readonly o: ReleaseOutput; readonly report: OutputReport | null }) {
  const { a, lang } = useAirlockText();
  const flags = report?.flags ?? [];
  const ledger = flags.filter((f) => f.rule === 'differencing' || f.rule === 'request_differencing');
  const columns = o.columns.map((c) => c.name);
  const safe = report?.safeVersion;
  return (
    <section className="card airlock-output" aria-labelledby={`out-${o.id}-h`} data-testid={`output-${o.name}`}>
      <h3 id={`out-${o.id}-h`}>
        <code>{o.name}</code>{' '}
        {report !== null && <Badge tone={report.status === 'blocked' ? 'danger' : report.status === 'review' ? 'warning' : 'success'}><span data-testid={`output-status-${o.name}`} data-status={report.status}>{a.outputStatus[report.status]}</span></Badge>}{' '}
        <span className="muted small">{a.approvalsNeeded(d.approvalsNeeded[o.name] ?? 0)}</span>
      </h3>
      <p>{o.description}</p>
      <p className="muted small">{a.lineage(o.lineage.sourceTable, o.sha256, o.lineage.datasetVersions.join(', '))}</p>
      {o.columns.some((c) => c.description !== '') && (
        <dl className="airlock-variables" aria-label={a.variables}>
          {o.columns.filter((c) => c.description !== '').map((c) => <div key={c.name}><dt><code>{c.name}</code></dt><dd>{c.description}</dd></div>)}
        </dl>
      )}
      {o.underlyingCounts !== '' && <p><strong>{a.underlying} : </strong>{o.underlyingCounts}</p>}
      {o.rows !== undefined && <FlaggedTable columns={columns} rows={o.rows} flags={flags} testId={`grid-${o.name}`} caption={o.name} />}
      {report === null ? <p className="muted">{a.reportNone}</p> : (
        <>
          <h4>{a.flagged}</h4>
          {flags.length === 0 ? <p className="muted">—</p> : (
            <ol className="airlock-flags" data-testid={`flags-${o.name}`}>
              {flags.map((f, i) => (
                <li key={i} id={`grid-${o.name}-flag-${i + 1}`} data-rule={f.rule} data-severity={f.severity}>
                  <Badge tone={f.severity === 'block' ? 'danger' : 'warning'}>{f.severity === 'block' ? a.flagBlock : a.flagReview}</Badge>{' '}
                  <code>{f.rule}</code> {f.message[lang]}
                </li>
              ))}
            </ol>
          )}
          <h4>{a.ledgerTitle}</h4>
          {ledger.length === 0 ? <p className="muted" data-testid={`ledger-${o.name}`}>{a.ledgerNone}</p> : (
            <ul data-testid={`ledger-${o.name}`}>
              {ledger.map((f, i) => <li key={i}>{f.message[lang]}{f.other === undefined ? '' : ` — ${a.ledgerRelease(f.other.releaseId, f.other.projectId, f.other.outputName)}`}</li>)}
            </ul>
          )}
          {safe !== undefined && (
            <>
              <h4>{a.safeTitle}</h4>
              <p className="muted small">{safe.note[lang]}</p>
              {safe.method === 'unchanged' ? <p>{a.safeUnchanged}</p> : safe.table === null ? <p>{a.safeWithheld}</p> : (
                <FlaggedTable columns={safe.table.columns.map((c) => c.name)} rows={safe.table.rows} flags={[]} testId={`safe-${o.name}`} caption={`${a.safeTitle} · ${safe.method}`} />
              )}
            </>
          )}
        </>
      )}
    </section>
  );
}

function Votes({ d }: { readonly d: RequestDetail }) {
  const { a } = useAirlockText();
  return (
    <section aria-labelledby="airlock-votes-h">
      <h2 id="airlock-votes-h">{a.votes}</h2>
      {d.votes.length === 0 ? <p className="muted">{a.votesNone}</p> : (
        <ul data-testid="airlock-votes">
          {d.votes.map((v) => {
            const o = d.outputs.find((x) => x.id === v.outputId);
            return (
              <li key={v.id} className={v.active ? '' : 'muted'}>
                <code>{o?.name ?? v.outputId}</code> v{v.outputVersion}: {a.voteLine(a.decision[v.decision], v.reasons.map((r) => a.reason[r] ?? r).join(', '))}
                {v.comment !== '' && <> — {v.comment}</>} <span className="muted small">{new Date(v.createdAt).toISOString().slice(0, 16).replace('T', ' ')}</span>
                {!v.active && <> ({a.voteReset})</>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

interface Draft {
  decision: VoteDecision;
  reasons: string[];
  comment: string;
}

function ReviewForm({ d, onDone }: { readonly d: RequestDetail; readonly onDone: () => void }) {
  const { a } = useAirlockText();
  const { me } = useSession();
  const mine = new Set(d.votes.filter((v) => v.active && v.checkerId === me?.personId).map((v) => v.outputId));
  const open = d.outputs.filter((o) => !mine.has(o.id));
  const [drafts, setDrafts] = useState<Record<string, Draft>>(() => Object.fromEntries(open.map((o) => {
    const status = d.report?.outputs.find((r) => r.name === o.name)?.status;
    return [o.name, status === 'blocked' ? { decision: 'return', reasons: ['apply_safe_version'], comment: '' } : { decision: 'approve', reasons: [status === 'review' ? 'flags_reviewed_safe' : 'rules_clean'], comment: '' }];
  })));
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: string, p: Partial<Draft>): void => setDrafts((x) => ({ ...x, [name]: { ...(x[name] ?? { decision: 'approve', reasons: [], comment: '' }), ...p } }));
  const onSubmit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      await airlockApi.review(d.request.id, open.map((o) => {
        const x = drafts[o.name] ?? { decision: 'approve' as const, reasons: [], comment: '' };
        return { output: o.name, decision: x.decision, reasons: x.reasons, comment: x.comment };
      }));
      onDone();
    } catch (err) {
      setFailure(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="airlock-review-h">
      <h2 id="airlock-review-h">{a.sendReview}</h2>
      <form onSubmit={(e) => void onSubmit(e)} data-testid="airlock-review">
        {open.map((o) => {
          const x = drafts[o.name] ?? { decision: 'approve' as const, reasons: [], comment: '' };
          return (
            <fieldset key={o.id} className="airlock-decision" data-testid={`decision-${o.name}`}>
              <legend>{a.decisionFor(o.name)}</legend>
              <div role="radiogroup" className="button-row">
                {(['approve', 'return', 'reject'] as const).map((dec) => (
                  <label key={dec}>
                    <input type="radio" name={`decision-${o.name}`} value={dec} checked={x.decision === dec} data-testid={`decision-${o.name}-${dec}`}
                      onChange={() => set(o.name, { decision: dec, reasons: [REASONS[dec][0] ?? 'other'] })} />
                    {' '}{a.decision[dec]}
                  </label>
                ))}
              </div>
              <fieldset className="airlock-reasons">
                <legend>{a.reasonsLabel}</legend>
                {REASONS[x.decision].map((r) => (
                  <label key={r} className="airlock-reason">
                    <input type="checkbox" checked={x.reasons.includes(r)} onChange={(e) => set(o.name, { reasons: e.target.checked ? [...x.reasons, r] : x.reasons.filter((y) => y !== r) })} />
                    {' '}{a.reason[r] ?? r}
                  </label>
                ))}
              </fieldset>
              <TextField label={a.comment} hint={a.commentHint} multiline value={x.comment} name={`comment-${o.name}`} onChange={(v) => set(o.name, { comment: v })} />
            </fieldset>
          );
        })}
        {failure !== null && <ErrorState error={failure} />}
        <div className="button-row">
          <button type="submit" className="button button-primary" disabled={busy} data-testid="airlock-send-review">{a.sendReview}</button>
        </div>
      </form>
    </section>
  );
}
