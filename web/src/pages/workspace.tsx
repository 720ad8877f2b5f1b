/**
 * A project's workspace (issue 12): the extract's schema and manifest, the member's scratch
 * tables and quota, an SQL editor with completion, statements run in the sandbox with progress
 * and cancel, results read by pages, a quick chart, the member's history, the project's saved
 * queries. Rows are seen here and nowhere else: nothing downloads (outputs leave by the airlock).
 */
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError, projectsApi, SENSITIVITIES, type Sensitivity } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, Empty, ErrorState, Loading, SensitivityBadge, useAsync, type Tone } from '../kit/index.ts';
import { href, Link } from '../router.tsx';
import { useAirlockText } from './airlock-text.ts';
import { RequireLogin, useSession } from '../session.tsx';
import { PAGE_SIZE, workspaceApi, type CellValue, type ExtractManifest, type Query, type QueryStatus, type RowsPage, type SavedQuery, type SchemaTable, type Workspace, type WorkspaceApi } from '../workspace-api.ts';
import { Breadcrumbs, PageTitle } from './page.tsx';
import { QuickChart } from './workspace-chart.tsx';
import { SqlEditor, type SqlEditorHandle } from './workspace-editor.tsx';

const POLL_MS = 500;
/**
 * How long a run request waits for the statement before answering 202 "running": short, so that
 * a long statement shows its progress and can be cancelled at once (the API's default is 20 s).
 */
const RUN_WAIT_MS = 1500;

function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError({ status: 0, code: 'client', title: 'error', detail: e instanceof Error ? e.message : String(e) });
}

export function WorkspacePage({ id }: { readonly id: string }) {
  return (
    <RequireLogin>
      <WorkspaceView id={id} key={id} />
    </RequireLogin>
  );
}

function WorkspaceView({ id }: { readonly id: string }) {
  const { t } = useI18n();
  const api = useMemo(() => workspaceApi(id), [id]);
  const project = useAsync((s) => projectsApi.get(id, s), [id]);
  const ws = useAsync((s) => api.workspace(s), [api]);
  const title = project.status === 'ok' ? project.data.project.title : id;
  const { me } = useSession();
  // Reviewers of the access committee read the extract's metadata, never its rows.
  const member = project.status !== 'ok' || project.data.project.members.some((m) => m.personId === me?.personId);
  return (
    <>
      <Breadcrumbs items={[{ label: t.projectsTitle, to: '/projects' }, { label: title, to: href('projects', id) }, { label: t.ws.title }]} />
      <PageTitle title={`${t.ws.title} · ${title}`}>
        {t.ws.title} <span className="muted ws-title-project">{title}</span>
      </PageTitle>
      {member && <AirlockLink id={id} />}
      {ws.status === 'error' && ws.error.status === 403 ? (
        <NoAccess error={ws.error} />
      ) : (
        <Async state={ws}>{(w) => <WorkspaceBody api={api} workspace={w} reload={ws.reload} member={member} />}</Async>
      )}
    </>
  );
}

/** Outputs leave only through the airlock: the way there from the workspace. */
function AirlockLink({ id }: { readonly id: string }) {
  const { a } = useAirlockText();
  return (
    <p>
      <Link to={href('projects', id, 'airlock')} data-testid="ws-airlock">{a.requestRelease}</Link>
    </p>
  );
}

/** Not a failure of the portal: the permit does not (or no longer) let this person in, and why. */
function NoAccess({ error }: { readonly error: ApiError }) {
  const { t } = useI18n();
  const p = error.problem;
  return (
    <div className="notice notice-warning" role="alert" data-testid="workspace-forbidden">
      <p>
        <strong>{t.ws.forbiddenTitle}</strong>
      </p>
      <p>{p.detail}</p>
      {p.hint !== undefined && (
        <p>
          <strong>{t.errorHint} : </strong>
          {p.hint}
        </p>
      )}
    </div>
  );
}

const STATUS_TONE: Readonly<Record<Workspace['status'], Tone>> = { ready: 'success', building: 'info', none: 'neutral', failed: 'danger', closed: 'neutral' };

function WorkspaceBody({ api, workspace: loaded, reload, member }: { readonly api: WorkspaceApi; readonly workspace: Workspace; readonly reload: () => void; readonly member: boolean }) {
  const { t } = useI18n();
  // Saving or dropping a scratch table refreshes the schema in place: the editor, the result
  // shown and the form stay as they are (a reload through the loading state would remount them).
  const [workspace, setWorkspace] = useState(loaded);
  useEffect(() => setWorkspace(loaded), [loaded]);
  const refresh = useCallback(() => {
    api.workspace().then(setWorkspace, () => reload());
  }, [api, reload]);
  const status = workspace.status;
  return (
    <>
      <p>
        <Badge tone={STATUS_TONE[status]}>
          <span data-workspace-status={status}>{t.ws.status[status]}</span>
        </Badge>
      </p>
      {status !== 'ready' && (
        <div className={`notice${status === 'failed' ? ' notice-danger' : ''}`} role="status" data-testid="workspace-not-ready">
          <p>{t.ws.statusHelp[status]}</p>
          {status === 'failed' && workspace.extract?.error != null && <p><code>{workspace.extract.error}</code></p>}
          {(status === 'building' || status === 'none' || status === 'failed') && (
            <button type="button" className="button" onClick={reload}>
              {t.ws.checkAgain}
            </button>
          )}
        </div>
      )}
      {!member && <p className="notice" data-testid="workspace-reviewer">{t.ws.reviewerHint}</p>}
      {status === 'ready' && member && <Ready api={api} workspace={workspace} reload={refresh} />}
      {workspace.extract !== null && <Manifest manifest={workspace.extract} />}
    </>
  );
}

function Ready({ api, workspace, reload }: { readonly api: WorkspaceApi; readonly workspace: Workspace; readonly reload: () => void }) {
  const { t } = useI18n();
  const { me } = useSession();
  const editor = useRef<SqlEditorHandle>(null);
  const [sqlText, setSqlText] = useState('');
  const sqlRef = useRef(sqlText);
  sqlRef.current = sqlText;
  const [current, setCurrent] = useState<Query | null>(null);
  const [runError, setRunError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saveAs, setSaveAs] = useState(false);
  const [saveName, setSaveName] = useState('');
  const [saveKind, setSaveKind] = useState<'table' | 'view'>('table');
  const [saveNameError, setSaveNameError] = useState<string | undefined>(undefined);
  const [historyKey, setHistoryKey] = useState(0);

  const finished = useCallback(
    (q: Query) => {
      setHistoryKey((k) => k + 1);
      if (q.status === 'succeeded' && q.saved !== null) reload();
    },
    [reload],
  );

  const run = useCallback(async (): Promise<void> => {
    const text = sqlRef.current.trim();
    if (text === '' || busy) return;
    let target: { name: string; kind: 'table' | 'view' } | undefined;
    if (saveAs) {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(saveName)) {
        setSaveNameError(t.ws.errTableName);
        return;
      }
      target = { name: saveName, kind: saveKind };
    }
    setSaveNameError(undefined);
    setRunError(null);
    setBusy(true);
    try {
      const q = await api.run(text, target, RUN_WAIT_MS);
      setCurrent(q);
      if (q.status !== 'running') finished(q);
    } catch (e) {
      setRunError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }, [api, busy, saveAs, saveName, saveKind, finished, t]);

  // While a statement runs, its progress is read every POLL_MS until it ends.
  const runningId = current?.status === 'running' ? current.id : null;
  useEffect(() => {
    if (runningId === null) return undefined;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = (): void => {
      api.query(runningId).then(
        (q) => {
          if (stop) return;
          setCurrent(q);
          if (q.status === 'running') timer = setTimeout(tick, POLL_MS);
          else finished(q);
        },
        (e: unknown) => {
          if (!stop) setRunError(asApiError(e));
        },
      );
    };
    timer = setTimeout(tick, POLL_MS);
    return () => {
      stop = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [api, runningId, finished]);

  const cancel = async (): Promise<void> => {
    if (current === null) return;
    try {
      const q = await api.cancel(current.id);
      setCurrent(q);
      finished(q);
    } catch (e) {
      setRunError(asApiError(e));
    }
  };

  const load = (q: { sql: string }, query?: Query): void => {
    editor.current?.setValue(q.sql);
    setSqlText(q.sql);
    if (query !== undefined && query.status !== 'running') setCurrent(query);
    editor.current?.focus();
  };

  const extract = workspace.tables.filter((x) => x.schema === 'extract');
  const scratch = workspace.tables.filter((x) => x.schema === 'scratch');
  return (
    <div className="ws-layout">
      <aside className="ws-side" aria-labelledby="ws-schema-h">
        <h2 id="ws-schema-h">{t.ws.schemaTitle}</h2>
        <SchemaList title={t.ws.extractTables} tables={extract} testId="schema-extract" empty={t.ws.extractEmpty} />
        <SchemaList title={t.ws.scratchTables} tables={scratch} testId="schema-scratch" empty={t.ws.scratchEmpty} onDrop={async (name) => { await api.dropTable(name); reload(); }} />
        <Quota used={workspace.quota.usedBytes} max={workspace.quota.quotaBytes} />
      </aside>
      <div className="ws-main">
        <section aria-labelledby="ws-editor-h">
          <h2 id="ws-editor-h">{t.ws.editorTitle}</h2>
          <p className="muted small">
            {t.ws.editorHint}
          </p>
          <SqlEditor ref={editor} initial="" tables={workspace.tables} label={t.ws.editorLabel} description={t.ws.editorHint} placeholder={t.ws.editorPlaceholder} onChange={setSqlText} onRun={() => void run()} />
          <form
            className="ws-run"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              void run();
            }}
          >
            <div className="ws-saveas">
              <input id="ws-saveas" type="checkbox" checked={saveAs} onChange={(e) => setSaveAs(e.target.checked)} />{' '}
              <label htmlFor="ws-saveas">{t.ws.saveAsToggle}</label>
              {saveAs && (
                <span className="ws-saveas-fields">
                  <label htmlFor="ws-saveas-name">{t.ws.saveAsName}</label>
                  <input id="ws-saveas-name" name="saveAsName" value={saveName} onChange={(e) => setSaveName(e.target.value)} aria-invalid={saveNameError !== undefined || undefined} aria-describedby={saveNameError === undefined ? undefined : 'ws-saveas-err'} />
                  <label htmlFor="ws-saveas-kind">{t.ws.saveAsKind}</label>
                  <select id="ws-saveas-kind" value={saveKind} onChange={(e) => setSaveKind(e.target.value === 'view' ? 'view' : 'table')}>
                    <option value="table">{t.ws.kindTable}</option>
                    <option value="view">{t.ws.kindView}</option>
                  </select>
                </span>
              )}
              {saveNameError !== undefined && (
                <p id="ws-saveas-err" className="field-error">
                  {saveNameError}
                </p>
              )}
            </div>
            <div className="button-row">
              <button type="submit" className="button button-primary" disabled={busy || runningId !== null || sqlText.trim() === ''} data-testid="run">
                {t.ws.run}
              </button>
              <button type="button" className="button" disabled={runningId === null} onClick={() => void cancel()} data-testid="cancel">
                {t.ws.cancel}
              </button>
            </div>
          </form>
          {runError !== null && <ErrorState error={runError} />}
          {busy && runningId === null && <Loading label={t.ws.running} />}
          {current !== null && <QueryOutcome api={api} query={current} />}
        </section>
        <div className="two-col">
          <History api={api} refreshKey={historyKey} onLoad={(q) => load(q, q)} />
          <SavedQueries api={api} personId={me?.personId} sql={sqlText} onLoad={(q) => load(q)} />
        </div>
      </div>
    </div>
  );
}

function SchemaList({ title, tables, testId, empty, onDrop }: { readonly title: string; readonly tables: readonly SchemaTable[]; readonly testId: string; readonly empty: string; readonly onDrop?: (name: string) => Promise<void> }) {
  const { t, formatNumber } = useI18n();
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <section className="ws-schema" data-testid={testId} aria-label={title}>
      <h3>{title}</h3>
      {tables.length === 0 ? (
        <p className="muted small">{empty}</p>
      ) : (
        <ul className="ws-tables">
          {tables.map((tb) => (
            <li key={`${tb.schema}.${tb.name}`} data-table={tb.name}>
              <details>
                <summary>
                  <code>{tb.name}</code>
                  {tb.kind === 'view' && <> <Badge>{t.ws.kindView}</Badge></>}
                  {tb.rows !== undefined && <span className="muted small"> · {t.ws.rows(formatNumber(tb.rows))}</span>}
                </summary>
                <table className="data-table ws-columns">
                  <caption className="visually-hidden">{t.ws.columnsOf(tb.name)}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t.colName}</th>
                      <th scope="col">{t.colType}</th>
                      <th scope="col">{t.colSensitivity}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {tb.columns.map((c) => (
                      <tr key={c.name} data-column={c.name}>
                        <th scope="row">
                          <code>{c.name}</code>
                          {c.description !== undefined && c.description !== '' && <span className="ws-col-desc small muted">{c.description}</span>}
                        </th>
                        <td>
                          <code className="small">{c.type}</code>
                        </td>
                        <td>{c.sensitivity !== undefined && SENSITIVITIES.includes(c.sensitivity as Sensitivity) ? <SensitivityBadge sensitivity={c.sensitivity as Sensitivity} /> : null}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {onDrop !== undefined && (
                  <button
                    type="button"
                    className="button button-small"
                    aria-label={t.ws.dropTableLabel(tb.name)}
                    onClick={() => {
                      if (!window.confirm(t.ws.dropConfirm(tb.name))) return;
                      setError(null);
                      onDrop(tb.name).catch((e: unknown) => setError(asApiError(e)));
                    }}
                  >
                    {t.ws.dropTable}
                  </button>
                )}
              </details>
            </li>
          ))}
        </ul>
      )}
      {error !== null && <ErrorState error={error} />}
    </section>
  );
}

export function formatBytes(n: number, formatNumber: (n: number) => string): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${formatNumber(Math.round(v * 10) / 10)} ${units[i] ?? 'B'}`;
}

function Quota({ used, max }: { readonly used: number; readonly max: number }) {
  const { t, formatNumber } = useI18n();
  const label = t.ws.quota(formatBytes(used, formatNumber), formatBytes(max, formatNumber));
  return (
    <div className="progress ws-quota" data-testid="quota">
      <span className="progress-label">{label}</span>
      <progress value={Math.min(used, max)} max={Math.max(max, 1)} aria-label={t.ws.quotaLabel} aria-valuetext={label} />
    </div>
  );
}

const QUERY_TONE: Readonly<Record<QueryStatus, Tone>> = { running: 'info', succeeded: 'success', failed: 'danger', refused: 'danger', cancelled: 'warning' };

function QueryStatusBadge({ status }: { readonly status: QueryStatus }) {
  const { t } = useI18n();
  return (
    <Badge tone={QUERY_TONE[status]}>
      <span data-query-status={status}>{t.ws.queryStatus[status]}</span>
    </Badge>
  );
}

function QueryOutcome({ api, query }: { readonly api: WorkspaceApi; readonly query: Query }) {
  const { t, formatNumber } = useI18n();
  if (query.status === 'running') {
    const pct = query.progress === null || query.progress < 0 ? null : Math.min(100, Math.round(query.progress));
    return (
      <div className="ws-running" role="status" aria-live="polite" data-testid="running">
        <span className="spinner" aria-hidden="true" />
        <span>{t.ws.running}</span>
        {pct === null ? <progress aria-label={t.ws.progressLabel} /> : <progress value={pct} max={100} aria-label={t.ws.progressLabel} />}
        {pct !== null && <span>{pct} %</span>}
      </div>
    );
  }
  if (query.status === 'refused' || query.status === 'failed' || query.status === 'cancelled') {
    const refused = query.status === 'refused';
    return (
      <div className={`notice ${refused || query.status === 'failed' ? 'notice-danger' : 'notice-warning'}`} role="alert" data-testid={`query-${query.status}`}>
        <p>
          <strong>{refused ? t.ws.refusedTitle : query.status === 'failed' ? t.ws.failedTitle : t.ws.cancelledTitle}</strong>
        </p>
        {query.error?.reason !== undefined && (
          <p data-testid="refused-reason">
            {t.ws.reason} : {query.error.reason}
          </p>
        )}
        {query.error !== null && query.error.message !== query.error.reason && <p data-testid="query-message">{query.error.message}</p>}
        {query.error?.hint !== undefined && (
          <p data-testid="query-hint">
            <strong>{t.errorHint} : </strong>
            {query.error.hint}
          </p>
        )}
        {query.error !== null && <p className="muted small">{t.ws.errorCode} <code>{query.error.code}</code></p>}
      </div>
    );
  }
  const columns = query.columns ?? [];
  const rowCount = query.rowCount ?? 0;
  return (
    <section aria-labelledby="ws-result-h" data-testid="result">
      <h3 id="ws-result-h">{t.ws.resultTitle}</h3>
      <p className="ws-result-meta">
        <QueryStatusBadge status={query.status} /> <span data-testid="row-count">{t.ws.rows(formatNumber(rowCount))}</span>
        {query.elapsedMs !== null && <> · {t.ws.elapsed(formatNumber(query.elapsedMs))}</>}
      </p>
      {query.truncated === true && (
        <p className="notice notice-warning" data-testid="truncated">
          {t.ws.truncated}
        </p>
      )}
      {query.saved !== null && (
        <p className="notice" role="status" data-testid="saved-table">
          {t.ws.savedAs(query.saved.kind === 'view' ? t.ws.kindView : t.ws.kindTable, query.saved.name)}
        </p>
      )}
      {query.sha256 !== null && (
        <p className="muted small ws-sha">
          SHA-256 <code data-testid="result-sha">{query.sha256}</code>
        </p>
      )}
      {/* keyed by the query: a new result starts on its first page, never showing the previous rows meanwhile */}
      {columns.length > 0 && <ResultGrid key={query.id} api={api} query={query} />}
      {columns.length > 0 && rowCount > 0 && (
        <details className="ws-chart-section">
          <summary>{t.ws.chartTitle}</summary>
          <QuickChart api={api} queryId={query.id} columns={columns} rowCount={rowCount} />
        </details>
      )}
    </section>
  );
}

function cell(v: CellValue): string {
  if (v === null) return '∅';
  return typeof v === 'string' ? v : String(v);
}

function ResultGrid({ api, query }: { readonly api: WorkspaceApi; readonly query: Query }) {
  const { t, formatNumber } = useI18n();
  const [offset, setOffset] = useState(0);
  const state = useAsync((s) => api.rows(query.id, offset, PAGE_SIZE, s), [api, query.id, offset]);
  const total = query.rowCount ?? 0;
  const last = Math.max(0, Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE);
  const pager = (
    <nav className="ws-pager" aria-label={t.ws.pagesLabel}>
      <button type="button" className="button button-small" disabled={offset === 0} onClick={() => setOffset(0)}>
        {t.ws.first}
      </button>
      <button type="button" className="button button-small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
        {t.previous}
      </button>
      <span data-testid="page-range" aria-live="polite">
        {total === 0 ? t.ws.noRows : t.pageOf(offset + 1, Math.min(offset + PAGE_SIZE, total), total)}
      </span>
      <button type="button" className="button button-small" disabled={offset + PAGE_SIZE >= total} onClick={() => setOffset(offset + PAGE_SIZE)} data-testid="next-page">
        {t.next}
      </button>
      <button type="button" className="button button-small" disabled={offset >= last} onClick={() => setOffset(last)}>
        {t.ws.last}
      </button>
    </nav>
  );
  return (
    <>
      {total > PAGE_SIZE && pager}
      {state.status === 'error' && state.error.status === 410 ? (
        <div className="notice notice-warning" role="alert" data-testid="result-gone">
          <p>{t.ws.gone}</p>
          {state.error.problem.hint !== undefined && <p>{state.error.problem.hint}</p>}
        </div>
      ) : (
        <Async state={state}>
          {(page: RowsPage) => (
            <div className="table-wrap ws-grid" tabIndex={0} role="region" aria-label={t.ws.gridLabel(formatNumber(total))}>
              <table className="data-table" data-testid="result-grid">
                <caption className="visually-hidden">{t.ws.gridCaption(offset + 1, offset + page.rows.length, total)}</caption>
                <thead>
                  <tr>
                    <th scope="col" className="num muted">#</th>
                    {page.columns.map((c) => (
                      <th key={c.name} scope="col">
                        {c.name} <span className="muted small">{c.type}</span>
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {page.rows.map((r, i) => (
                    <tr key={page.offset + i}>
                      <td className="num muted">{page.offset + i + 1}</td>
                      {r.map((v, j) => (
                        <td key={j} className={typeof v === 'number' ? 'num' : v === null ? 'muted' : undefined}>
                          {cell(v)}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Async>
      )}
      {total > PAGE_SIZE && pager}
    </>
  );
}

function History({ api, refreshKey, onLoad }: { readonly api: WorkspaceApi; readonly refreshKey: number; readonly onLoad: (q: Query) => void }) {
  const { t, formatDate } = useI18n();
  const state = useAsync((s) => api.history(s), [api, refreshKey]);
  return (
    <section aria-labelledby="ws-history-h" data-testid="history">
      <h2 id="ws-history-h">{t.ws.historyTitle}</h2>
      <Async state={state}>
        {(queries) =>
          queries.length === 0 ? (
            <Empty>{t.ws.historyEmpty}</Empty>
          ) : (
            <ul className="ws-list">
              {queries.map((q) => {
                // the button's name holds the statement as shown, so what is seen is what is said (WCAG 2.5.3)
                const shown = q.sql.length > 140 ? `${q.sql.slice(0, 140)}…` : q.sql;
                return (
                  <li key={q.id}>
                    <button type="button" className="link-button ws-sql-snippet" onClick={() => onLoad(q)} aria-label={t.ws.loadQueryLabel(shown)}>
                      <code>{shown}</code>
                    </button>
                    <span className="small muted">
                      <QueryStatusBadge status={q.status} /> {formatDate(q.startedAt)} {new Date(q.startedAt).toLocaleTimeString()}
                      {q.rowCount !== null && <> · {t.ws.rows(String(q.rowCount))}</>}
                    </span>
                  </li>
                );
              })}
            </ul>
          )
        }
      </Async>
    </section>
  );
}

function SavedQueries({ api, personId, sql, onLoad }: { readonly api: WorkspaceApi; readonly personId: string | undefined; readonly sql: string; readonly onLoad: (q: SavedQuery) => void }) {
  const { t, formatDate } = useI18n();
  const [key, setKey] = useState(0);
  const state = useAsync((s) => api.savedQueries(s), [api, key]);
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (name.trim() === '') {
      setNameError(t.errRequired);
      return;
    }
    if (sql.trim() === '') {
      setNameError(t.ws.errNoSql);
      return;
    }
    setNameError(undefined);
    setError(null);
    try {
      await api.saveQuery(name.trim(), sql);
      setName('');
      setKey((k) => k + 1);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const remove = async (q: SavedQuery): Promise<void> => {
    setError(null);
    try {
      await api.deleteSavedQuery(q.id);
      setKey((k) => k + 1);
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <section aria-labelledby="ws-saved-h" data-testid="saved-queries">
      <h2 id="ws-saved-h">{t.ws.savedTitle}</h2>
      <form onSubmit={(e) => void save(e)} className="ws-save-query">
        <label htmlFor="ws-save-name">{t.ws.saveQueryName}</label>
        <input id="ws-save-name" name="savedQueryName" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={nameError !== undefined || undefined} aria-describedby={nameError === undefined ? undefined : 'ws-save-err'} />
        <button type="submit" className="button">
          {t.ws.saveQuery}
        </button>
        {nameError !== undefined && (
          <p id="ws-save-err" className="field-error">
            {nameError}
          </p>
        )}
      </form>
      {error !== null && <ErrorState error={error} />}
      <Async state={state}>
        {(list) =>
          list.length === 0 ? (
            <Empty>{t.ws.savedEmpty}</Empty>
          ) : (
            <ul className="ws-list">
              {list.map((q) => (
                <li key={q.id} data-saved-query={q.name}>
                  <strong>{q.name}</strong> <span className="small muted">{formatDate(q.createdAt)}</span>
                  <code className="ws-sql-snippet small">{q.sql.length > 140 ? `${q.sql.slice(0, 140)}…` : q.sql}</code>
                  <span className="button-row">
                    <button type="button" className="button button-small" onClick={() => onLoad(q)} aria-label={t.ws.loadSavedLabel(q.name)}>
                      {t.ws.load}
                    </button>
                    {q.personId === personId && (
                      <button type="button" className="button button-small" onClick={() => void remove(q)} aria-label={t.ws.deleteSavedLabel(q.name)}>
                        {t.ws.delete}
                      </button>
                    )}
                  </span>
                </li>
              ))}
            </ul>
          )
        }
      </Async>
    </section>
  );
}

function Manifest({ manifest }: { readonly manifest: ExtractManifest }) {
  const { t, formatDate, formatNumber } = useI18n();
  return (
    <section aria-labelledby="ws-manifest-h" data-testid="manifest">
      <details>
        <summary>
          <h2 id="ws-manifest-h" className="ws-inline-h">
            {t.ws.manifestTitle}
          </h2>
        </summary>
        <dl className="ws-manifest-dl">
          <dt>{t.ws.mGeneration}</dt>
          <dd>{manifest.generation}</dd>
          <dt>{t.ws.mPermit}</dt>
          <dd>
            <code>{manifest.permitId}</code> v{manifest.permitVersion}
          </dd>
          <dt>{t.ws.mYears}</dt>
          <dd>
            {manifest.years.from}–{manifest.years.to}
          </dd>
          <dt>{t.ws.mDatasets}</dt>
          <dd>{manifest.datasetVersions.map((d) => `${d.dataset} v${d.version}`).join(', ')}</dd>
          {manifest.engine === undefined ? null : (
            <>
              <dt>{t.ws.mEngine}</dt>
              <dd data-testid="manifest-engine">{t.ws.engineName[manifest.engine]}</dd>
            </>
          )}
          <dt>{t.ws.mKey}</dt>
          <dd>
            <code data-testid="manifest-key">{manifest.keyId}</code>
          </dd>
          <dt>{t.ws.mRekey}</dt>
          <dd>
            <code>{manifest.rekeyKeyId}</code>
          </dd>
          <dt>{t.ws.mBuilt}</dt>
          <dd>{manifest.completedAt === null ? t.ws.status.building : formatDate(manifest.completedAt)}</dd>
        </dl>
        <div className="table-wrap">
          <table className="data-table" data-testid="manifest-tables">
            <caption>{t.ws.mTables}</caption>
            <thead>
              <tr>
                <th scope="col">{t.colTable}</th>
                <th scope="col">{t.ws.mSource}</th>
                <th scope="col" className="num">
                  {t.ws.mRows}
                </th>
                <th scope="col">{t.ws.mFiles}</th>
              </tr>
            </thead>
            <tbody>
              {manifest.tables.map((tb) => (
                <tr key={tb.name}>
                  <th scope="row">
                    <code>{tb.name}</code>
                  </th>
                  <td>
                    {tb.dataset}.{tb.table}
                  </td>
                  <td className="num">{formatNumber(tb.rows)}</td>
                  <td>
                    <ul className="ws-files">
                      {tb.files.map((f) => (
                        <li key={f.sha256 + f.path}>
                          <code className="small" title={f.sha256}>
                            {f.sha256}
                          </code>{' '}
                          <span className="muted small">{t.ws.rows(formatNumber(f.rows))}</span>
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}
