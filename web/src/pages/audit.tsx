import { audit } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Empty, useAsync } from '../kit/index.ts';
import { PageTitle } from './page.tsx';

/** C2SP tlog-checkpoint: origin, tree size, root hash, blank line, signatures. */
export function parseCheckpoint(note: string): { origin: string; size: string; root: string } | null {
  const [origin, size, root] = note.split('\n');
  if (origin === undefined || size === undefined || root === undefined || !/^\d+$/.test(size)) return null;
  return { origin, size, root };
}

export function AuditPage() {
  const { t, formatNumber } = useI18n();
  const state = useAsync((s) => audit.checkpoint(s), []);
  return (
    <>
      <PageTitle>{t.auditTitle}</PageTitle>
      <p className="lead">{t.auditIntro}</p>
      <Async state={state}>
        {(note) => {
          if (note === null) return <Empty>{t.auditNoCheckpoint}</Empty>;
          const cp = parseCheckpoint(note);
          return (
            <>
              {cp !== null && (
                <dl className="facts">
                  <div>
                    <dt>{t.auditOrigin}</dt>
                    <dd>
                      <code>{cp.origin}</code>
                    </dd>
                  </div>
                  <div>
                    <dt>{t.auditTreeSize}</dt>
                    <dd data-testid="tree-size">{formatNumber(Number(cp.size))}</dd>
                  </div>
                  <div>
                    <dt>{t.auditRoot}</dt>
                    <dd>
                      <code className="break">{cp.root}</code>
                    </dd>
                  </div>
                </dl>
              )}
              <h2>{t.auditNote}</h2>
              <pre className="note">{note}</pre>
              <p className="muted small">
                <a href="/api/v1/audit/checkpoint">/api/v1/audit/checkpoint</a>
              </p>
            </>
          );
        }}
      </Async>
    </>
  );
}
