import { governance, type RegisterEntry } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, DataTable, Empty, useAsync } from '../kit/index.ts';
import { PageTitle } from './page.tsx';

export function RegisterPage() {
  const { t, formatDate } = useI18n();
  const state = useAsync((s) => governance.register(s), []);
  return (
    <>
      <PageTitle>{t.registerTitle}</PageTitle>
      <p className="lead">{t.registerIntro}</p>
      <Async state={state}>
        {(entries) =>
          entries === null ? (
            <Empty>{t.registerUnavailable}</Empty>
          ) : entries.length === 0 ? (
            <Empty>{t.registerEmpty}</Empty>
          ) : (
            <DataTable<RegisterEntry>
              caption={t.registerTitle}
              captionHidden
              rows={entries}
              rowKey={(e) => e.projectId}
              columns={[
                { key: 'title', header: t.colProject, rowHeader: true, sortValue: (e) => e.title, render: (e) => e.title },
                { key: 'org', header: t.colOrganisation, sortValue: (e) => e.organisation, render: (e) => e.organisation },
                { key: 'purpose', header: t.colPurpose, render: (e) => e.purposeSummary },
                { key: 'datasets', header: t.colDatasets, render: (e) => e.datasets.join(', ') },
                { key: 'period', header: t.colPeriod, sortValue: (e) => e.validFrom, render: (e) => `${formatDate(e.validFrom)} – ${formatDate(e.validUntil)}` },
                { key: 'status', header: t.colStatus, render: (e) => <Badge tone={e.status === 'active' ? 'success' : 'neutral'}>{t.status[e.status] ?? e.status}</Badge> },
                { key: 'decided', header: t.colDecision, sortValue: (e) => e.decidedAt ?? '', render: (e) => (e.decidedAt === null ? '' : formatDate(e.decidedAt)) },
              ]}
            />
          )
        }
      </Async>
    </>
  );
}
