/**
 * Picks people from the platform's directory (GET /api/v1/identity/directory): a search field,
 * the people found by name and organisation, an "Add" button for each. Searches as the person
 * types, a moment after they stop.
 */
import { useEffect, useState } from 'react';
import { ApiError, get } from '../api.ts';
import { ErrorState, TextField } from '../kit/index.ts';
import { useOpsText } from '../ops-text.ts';
import type { DirectoryEntry } from '../api/generated.ts';

export type { DirectoryEntry };

const WAIT_MS = 250;

export function DirectoryPicker({ onPick, taken }: { readonly onPick: (p: DirectoryEntry) => void; readonly taken: (p: DirectoryEntry) => boolean }) {
  const o = useOpsText();
  const [term, setTerm] = useState('');
  const [found, setFound] = useState<readonly DirectoryEntry[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    const t = term.trim();
    if (t.length < 2) {
      setFound(null);
      return undefined;
    }
    const ac = new AbortController();
    const timer = setTimeout(() => {
      get<{ people: DirectoryEntry[] }>(`/api/v1/identity/directory?q=${encodeURIComponent(t)}`, ac.signal).then(
        (r) => {
          setError(null);
          setFound(r.people);
        },
        (e: unknown) => {
          if (!ac.signal.aborted) setError(e instanceof ApiError ? e : null);
        },
      );
    }, WAIT_MS);
    return () => {
      clearTimeout(timer);
      ac.abort();
    };
  }, [term]);
  return (
    <div className="directory-picker" data-testid="directory-picker">
      <TextField label={o.dirTitle} hint={`${o.dirSearch}. ${o.dirHint}`} type="search" value={term} onChange={setTerm} name="directorySearch" />
      {error !== null && <ErrorState error={error} />}
      {found !== null && (
        <>
          <p className="muted" role="status">
            {found.length === 0 ? o.dirNone : o.dirResults(found.length)}
          </p>
          <ul className="team-list">
            {found.map((p) => (
              <li key={p.id}>
                {p.displayName} {p.organisation === '' ? null : <span className="muted">({p.organisation})</span>}{' '}
                {taken(p) ? (
                  <span className="muted">{o.dirAdded}</span>
                ) : (
                  <button type="button" className="button button-small" onClick={() => onPick(p)} data-testid={`directory-add-${p.id}`}>
                    {o.dirAdd(p.displayName)}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
