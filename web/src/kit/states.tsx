import type { ReactNode } from 'react';
import type { ApiError } from '../api.ts';
import { useI18n } from '../i18n.tsx';

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

export function ErrorState({ error, onRetry }: { readonly error: ApiError; readonly onRetry?: () => void }) {
  const { t } = useI18n();
  const p = error.problem;
  return (
    <div className="state state-error" role="alert" data-state="error">
      <p className="state-title">{t.errorTitle}</p>
      <p>{p.status === 0 ? t.errorNetwork : p.detail}</p>
      {p.hint !== undefined && (
        <p>
          <strong>{t.errorHint} : </strong>
          {p.hint}
        </p>
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
