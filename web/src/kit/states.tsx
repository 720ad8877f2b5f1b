import type { ReactNode } from 'react';
import type { ApiError } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { useText } from '../text.ts';

/** Announced politely to screen readers; shown after a short delay to avoid flicker. */
export function Loading({ label }: { readonly label?: string }) {
  const { t } = useI18n();
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label ?? t.loading}</span>
    </div>
  );
}

export function Empty({ children, action }: { readonly children: ReactNode; readonly action?: ReactNode }) {
  return (
    <div className="state state-empty" data-state="empty">
      <p>{children}</p>
      {action}
    </div>
  );
}

/**
 * A failed call said in the page's language: what happened and what to do, from the error's
 * code (the server's own sentence is English and written for API users: in English it is shown
 * as the detail, in French folded away and marked as English). Never a command or an API path.
 */
export function ErrorState({ error, onRetry, page }: { readonly error: ApiError; readonly onRetry?: () => void; readonly page?: boolean }) {
  const { t, lang } = useI18n();
  const x = useText();
  const p = error.problem;
  const code = p.status === 0 ? 'network' : p.code in x.err ? p.code : p.status >= 500 ? 'internal' : p.status === 404 ? 'not_found' : p.status === 403 ? 'forbidden' : p.status === 401 ? 'unauthenticated' : p.status === 409 ? 'conflict' : 'invalid';
  const said = x.err[code] ?? { title: t.errorTitle, what: '' };
  const detail = p.status === 0 || p.detail === '' || p.detail === `${p.status} ` ? null : p.detail;
  return (
    <div className="state state-error" role="alert" data-state="error" data-code={code}>
      {page === true ? (
        // the whole page failed: its title is the error's, so the page still has its <h1>
        <h1 className="state-title" id="page-title" tabIndex={-1}>
          {said.title}
        </h1>
      ) : (
        <p className="state-title">{said.title}</p>
      )}
      {detail !== null && lang === 'en' && <p data-testid="error-detail">{detail}</p>}
      {said.what !== '' && (
        <p>
          <strong>{x.errWhat}{lang === 'fr' ? '\u00a0:' : ':'} </strong>
          {said.what}
        </p>
      )}
      {detail !== null && lang !== 'en' && (
        <details className="small">
          <summary>{x.errServerSays}</summary>
          <p lang="en" data-testid="error-detail">{detail}</p>
        </details>
      )}
      {p.requestId !== undefined && (
        <p className="muted small">
          {t.requestId} <code>{p.requestId}</code>
        </p>
      )}
      {onRetry !== undefined && (
        <button type="button" className="button" onClick={onRetry}>
          {t.retry}
        </button>
      )}
    </div>
  );
}
