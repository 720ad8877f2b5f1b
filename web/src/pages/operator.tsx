import { useState } from 'react';
import { get } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, DataTable, Empty, useAsync } from '../kit/index.ts';
import { RequireLogin } from '../session.tsx';
import { PageTitle } from './page.tsx';
import { QuarantineEntries, shrunk } from './operator-quarantine.tsx';
import { useText } from '../text.ts';
import { KeyRotation, Migrations } from './operator-ops.tsx';
import { ProjectEngines } from './operator-engines.tsx';
import type { DataKey, OperatorDataset, QuarantineReportPage, VersionSummary } from '../api/generated.ts';

/** Operators: datasets and their ingested versions, and keys by id and state (never material). */
export function OperatorPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t.operatorTitle}</PageTitle>
      <RequireLogin roles={['operator']}>
        <Versions />
        <Quarantine />
        <Migrations />
        <ProjectEngines />
        <Keys />
      </RequireLogin>
    </>
  );
}

function Versions() {
  const { t, formatDate, formatNumber } = useI18n();
  const x = useText();
  const state = useAsync(async (s) => {
    const { datasets } = await get<{ datasets: OperatorDataset[] }>('/api/v1/operator/datasets', s);
    const all = await Promise.all(datasets.map((d) => get<{ versions: VersionSummary[] }>(`/api/v1/operator/datasets/${encodeURIComponent(d.name)}/versions`, s)));
    return all.flatMap((v) => v.versions);
  }, []);
  return (
    <section aria-labelledby="versions-h">
      <h2 id="versions-h">{t.versionsTitle}</h2>
      <Async state={state}>
        {(versions) => {
          const small = shrunk(versions);
          return versions.length === 0 ? (
            <Empty>{t.noVersions}</Empty>
          ) : (
            <DataTable
              caption={t.versionsTitle}
              captionHidden
              rows={versions}
              rowKey={(v) => `${v.dataset}@${v.version}`}
              columns={[
                { key: 'ds', header: t.colDataset, rowHeader: true, render: (v) => <code>{v.dataset}</code> },
                { key: 'v', header: t.colVersion, className: 'num', sortValue: (v) => v.version, render: (v) => v.version },
                { key: 'files', header: t.colFiles, className: 'num', render: (v) => formatNumber(v.files) },
                { key: 'rows', header: t.colRowsAccepted, className: 'num', render: (v) => (small.has(`${v.dataset}@${v.version}`) ? <><Badge tone="warning"><span data-testid="shrunk">{x.qShrunk}</span></Badge> {formatNumber(v.rowsAccepted)}</> : formatNumber(v.rowsAccepted)) },
                { key: 'q', header: t.colQuarantined, className: 'num', render: (v) => (v.rowsQuarantined === 0 ? '0' : <Badge tone="warning">{formatNumber(v.rowsQuarantined)}</Badge>) },
                { key: 'root', header: 'Merkle', render: (v) => <code title={v.merkleRoot}>{v.merkleRoot.slice(0, 12)}…</code> },
                { key: 'created', header: t.colCreated, render: (v) => formatDate(v.createdAt) },
              ]}
            />
          );
        }}
      </Async>
    </section>
  );
}

/** Deliveries with quarantined rows: counts per rule and the first lines, values as shapes only. */
function Quarantine() {
  const { t, formatNumber } = useI18n();
  const state = useAsync(async (s) => {
    const { datasets } = await get<{ datasets: OperatorDataset[] }>('/api/v1/operator/datasets', s);
    const all = await Promise.all(datasets.map((d) => get<{ versions: VersionSummary[] }>(`/api/v1/operator/datasets/${encodeURIComponent(d.name)}/versions`, s)));
    const bad = all.flatMap((v) => v.versions).filter((v) => v.rowsQuarantined > 0);
    return Promise.all(bad.map(async (v) => ({ v, q: await get<QuarantineReportPage>(`/api/v1/operator/datasets/${encodeURIComponent(v.dataset)}/versions/${v.version}/quarantine`, s) })));
  }, []);
  return (
    <section aria-labelledby="quarantine-h">
      <h2 id="quarantine-h">{t.quarantineTitle}</h2>
      <Async state={state}>
        {(reports) =>
          reports.length === 0 ? (
            <Empty>{t.quarantineNone}</Empty>
          ) : (
            <>
              {reports.map(({ v, q }) => (
                <details key={`${v.dataset}@${v.version}`}>
                  <summary>{t.quarantineOf(v.dataset, v.version, formatNumber(q.total))}</summary>
                  <DataTable
                    caption={t.colRule}
                    captionHidden
                    rows={Object.entries(q.byRule).sort((a, b) => b[1] - a[1])}
                    rowKey={([rule]) => rule}
                    columns={[
                      { key: 'rule', header: t.colRule, rowHeader: true, render: ([rule]) => <code>{rule}</code> },
                      { key: 'n', header: t.colViolations, className: 'num', render: ([, n]) => formatNumber(n) },
                    ]}
                  />
                  <QuarantineEntries dataset={v.dataset} version={v.version} rules={Object.keys(q.byRule).sort()} tables={Object.keys(q.byTable ?? {}).sort()} />
                </details>
              ))}
            </>
          )
        }
      </Async>
    </section>
  );
}

function Keys() {
  const { t, formatDate } = useI18n();
  const [rotated, setRotated] = useState(0);
  const state = useAsync((s) => get<{ keys: DataKey[] }>('/api/v1/operator/keys', s).then((r) => r.keys), [rotated]);
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">{t.keysTitle}</h2>
      <Async state={state}>
        {(keys) => (
          <DataTable
            caption={t.keysTitle}
            captionHidden
            rows={keys}
            rowKey={(k) => k.id}
            empty={t.noKeys}
            columns={[
              { key: 'id', header: 'Id', rowHeader: true, render: (k) => <code>{k.id}</code> },
              { key: 'scope', header: t.colScope, render: (k) => `${k.scope}:${k.scopeId}` },
              { key: 'purpose', header: t.colPurposeKey, render: (k) => k.purpose },
              { key: 'state', header: t.colState, render: (k) => <Badge tone={k.state === 'active' ? 'success' : 'neutral'}>{k.state}</Badge> },
              { key: 'master', header: t.colWrappedBy, render: (k) => <code>{k.masterKeyId ?? ''}</code> },
              { key: 'created', header: t.colCreated, render: (k) => formatDate(k.createdAt) },
            ]}
          />
        )}
      </Async>
      <KeyRotation onRotated={() => setRotated((n) => n + 1)} />
    </section>
  );
}
