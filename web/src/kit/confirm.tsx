import { useState, type ReactNode } from 'react';
import { useText } from '../text.ts';

/**
 * A button whose action is asked twice: the first press shows what will happen with "Confirm"
 * and "Cancel" (focus moves to "Confirm"), the second does it. For acts that cannot be undone
 * from the portal (revoke, withdraw, close, suspend).
 */
export function ConfirmButton({ label, question, onConfirm, danger, testId }: {
  readonly label: ReactNode;
  readonly question: ReactNode;
  readonly onConfirm: () => Promise<void> | void;
  readonly danger?: boolean;
  readonly testId?: string;
}) {
  const x = useText();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <button type="button" className={`button${danger === true ? ' button-danger' : ''}`} onClick={() => setAsking(true)} data-testid={testId}>
        {label}
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-label={typeof label === 'string' ? label : undefined} data-testid={testId === undefined ? undefined : `${testId}-confirm`}>
      <p>{question}</p>
      <div className="button-row">
        <button
          type="button"
          className={`button ${danger === true ? 'button-danger' : 'button-primary'}`}
          disabled={busy}
          autoFocus
          onClick={() => {
            setBusy(true);
            void Promise.resolve(onConfirm()).finally(() => {
              setBusy(false);
              setAsking(false);
            });
          }}
        >
          {x.confirm}
        </button>
        <button type="button" className="button" onClick={() => setAsking(false)}>
          {x.cancel}
        </button>
      </div>
    </div>
  );
}
