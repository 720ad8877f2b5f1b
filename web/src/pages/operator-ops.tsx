/**
 * Operators' acts beyond reading: rotating the master key (with its confirmation and the backup
 * warning) and migrations between stores, whose progress updates live while a copy runs (the
 * page polls the plan's status every second; the server counts bytes as they stream).
 */
import { useEffect, useState } from 'react';
import { ApiError, get, request } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, ConfirmButton, DataTable, Empty, ErrorState, TextField, useAsync } from '../kit/index.ts';
import { useOpsText } from '../ops-text.ts';
import type { MasterKeyRotation, MigrationStatus } from '../api/generated.ts';

const POLL_MS = 1000;
const enc = encodeURIComponent;

/** "1.2 MB" in the page's language. */
function useBytes(): (n: number) => string {
  const { lang } = useI18n();
  const units = lang === 'fr' ? ['o', 'Ko', 'Mo', 'Go', 'To'] : ['B', 'KB', 'MB', 'GB', 'TB'];
  const nf = new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: 1 });
  return (n) => {
    let v = n;
    let u = 0;
    while (v >= 1000 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return `${nf.format(v)} ${units[u] ?? ''}`;
  };
}

export function KeyRotation({ onRotated }: { readonly onRotated: () => void }) {
  const o = useOpsText();
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const rotate = async (): Promise<void> => {
    setError(null);
    setSaid(null);
    try {
      const r = await request<MasterKeyRotation>('POST', '/api/v1/operator/keys/rotate-master', {});
      setSaid(o.rotateDone(r.oldId, r.newId, r.rewrapped));
      onRotated();
    } catch (e) {
      setError(e instanceof ApiError ? e : null);
    }
  };
  return (
    <section aria-labelledby="rotate-h">
      <h3 id="rotate-h">{o.rotateTitle}</h3>
      <p>{o.rotateExplain}</p>
      {said !== null && (
        <p className="notice" role="status" data-testid="rotate-said">
          {said}
        </p>
      )}
      {error !== null && <ErrorState error={error} />}
      <ConfirmButton label={o.rotateButton} danger testId="rotate-master" question={o.rotateQuestion} onConfirm={rotate} />
    </section>
  );
}

export function Migrations() {
  const o = useOpsText();
  const [tick, setTick] = useState(0);
  const state = useAsync((s) => get<{ migrations: MigrationStatus[] }>('/api/v1/operator/migrations', s).then((r) => r.migrations), []);
  const [polled, setPolled] = useState<MigrationStatus[] | null>(null);
  const list = polled ?? (state.status === 'ok' ? state.data : null);
  const running = list?.some((m) => m.running) ?? false;
  useEffect(() => {
    if (!running && tick === 0) return undefined;
    // While a copy runs (or just after one was started), ask again every second.
    const ac = new AbortController();
    const timer = setTimeout(() => {
      get<{ migrations: MigrationStatus[] }>('/api/v1/operator/migrations', ac.signal).then(
        (r) => {
          setPolled(r.migrations);
          setTick((n) => (r.migrations.some((m) => m.running) ? n + 1 : 0));
        },
        () => setTick((n) => n + 1),
      );
    }, POLL_MS);
    return () => {
      clearTimeout(timer);
      ac.abort();
    };
  }, [running, tick]);
  return (
    <section aria-labelledby="migrations-h">
      <h2 id="migrations-h">{o.migTitle}</h2>
      <p className="muted">{o.migLive}</p>
      <Async state={state}>
        {() =>
          list === null || list.length === 0 ? (
            <Empty>{o.migNone}</Empty>
          ) : (
            <DataTable
              caption={o.migTitle}
              captionHidden
              rows={list}
              rowKey={(m) => m.id}
              columns={[
                { key: 'id', header: o.migPlan, rowHeader: true, render: (m) => <code>{m.id}</code> },
                { key: 'route', header: o.migRoute, render: (m) => `${m.from} → ${m.to} (${m.datasets.join(', ')})` },
                { key: 'state', header: o.migState, render: (m) => <MigrationState m={m} /> },
                { key: 'progress', header: o.migProgress, render: (m) => <MigrationProgress m={m} /> },
                { key: 'act', header: <span className="visually-hidden">{o.migRun}</span>, render: (m) => <RunMigration m={m} onStarted={() => setTick((n) => n + 1)} /> },
              ]}
            />
          )
        }
      </Async>
    </section>
  );
}

function MigrationState({ m }: { readonly m: MigrationStatus }) {
  const o = useOpsText();
  const done = m.files.copied === m.files.total;
  return (
    <span data-testid={`mig-state-${m.id}`} data-state={m.running ? 'running' : done ? 'done' : m.files.copied > 0 ? 'partial' : 'waiting'}>
      {m.running ? <Badge tone="info">{o.migRunning}</Badge> : done ? <Badge tone="success">{o.migDone}</Badge> : <Badge>{m.files.copied > 0 ? o.migPartial : o.migWaiting}</Badge>}
      {m.files.failed > 0 && <> <Badge tone="danger">{o.migFailed(m.files.failed)}</Badge></>}
      {m.checksFailed > 0 && <> <Badge tone="danger">{o.migChecksFailed}</Badge></>}
      {m.verified !== null && <> <Badge tone={m.verified.ok ? 'success' : 'danger'}>{o.migVerified(m.verified.ok)}</Badge></>}
    </span>
  );
}

function MigrationProgress({ m }: { readonly m: MigrationStatus }) {
  const o = useOpsText();
  const { formatNumber } = useI18n();
  const bytes = useBytes();
  // to the byte while this server runs the copy; else as the journal has it, file by file
  const done = m.live?.bytesDone ?? m.bytes.copied;
  const files = m.live?.filesDone ?? m.files.copied;
  const label = `${o.migProgress} ${m.id}`;
  return (
    <div className="progress" data-testid={`mig-progress-${m.id}`} data-done={done} data-total={m.bytes.total}>
      <progress value={done} max={Math.max(1, m.bytes.total)} aria-label={label} />
      <span className="progress-label">
        {o.migBytes(bytes(done), bytes(m.bytes.total))} · {o.migFiles(formatNumber(files), formatNumber(m.files.total))}
      </span>
    </div>
  );
}

function RunMigration({ m, onStarted }: { readonly m: MigrationStatus; readonly onStarted: () => void }) {
  const o = useOpsText();
  const [limit, setLimit] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [said, setSaid] = useState(false);
  if (m.running || m.files.copied === m.files.total || m.checksFailed > 0) return null;
  const invalid = limit.trim() !== '' && !/^[1-9]\d{0,8}$/.test(limit.trim());
  const run = async (): Promise<void> => {
    setError(null);
    try {
      await request('POST', `/api/v1/operator/migrations/${enc(m.id)}/run`, limit.trim() === '' ? {} : { maxBytesPerSecond: Number(limit.trim()) * 1024 });
      setSaid(true);
      onStarted();
    } catch (e) {
      setError(e instanceof ApiError ? e : null);
    }
  };
  return (
    <div data-testid={`mig-run-${m.id}`}>
      <TextField label={o.migLimit} value={limit} onChange={setLimit} inputMode="numeric" error={invalid ? o.migLimitError : undefined} />
      {!invalid && <ConfirmButton label={m.files.copied > 0 ? o.migResume : o.migRun} testId={`mig-run-button-${m.id}`} question={o.migRunQuestion(m.id)} onConfirm={run} />}
      {said && <p role="status">{o.migStarted}</p>}
      {error !== null && <ErrorState error={error} />}
    </div>
  );
}
