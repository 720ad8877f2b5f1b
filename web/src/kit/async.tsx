import { useCallback, useEffect, useState, type DependencyList, type ReactNode } from 'react';
import { ApiError } from '../api.ts';
import { ErrorState, Loading } from './states.tsx';

export type AsyncState<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'ok'; readonly data: T }
  | { readonly status: 'error'; readonly error: ApiError };

function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError({ status: 0, code: 'client', title: 'error', detail: e instanceof Error ? e.message : String(e) });
}

/** Runs `load` when `deps` change, aborting the previous call; `reload` runs it again. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): AsyncState<T> & { readonly reload: () => void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setState({ status: 'loading' });
    load(ac.signal).then(
      (data) => {
        if (!ac.signal.aborted) setState({ status: 'ok', data });
      },
      (e: unknown) => {
        if (!ac.signal.aborted) setState({ status: 'error', error: asApiError(e) });
      },
    );
    return () => ac.abort();
  }, [...deps, attempt]);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return { ...state, reload };
}

/**
 * Renders the loading and error states of an AsyncState, and `children` once it has data.
 * `page`: the whole page (its <h1> included) comes from this state, so an error is the page.
 */
export function Async<T>({ state, children, label, page }: { readonly state: AsyncState<T> & { readonly reload: () => void }; readonly children: (data: T) => ReactNode; readonly label?: string; readonly page?: boolean }) {
  if (state.status === 'loading') return <Loading {...(label === undefined ? {} : { label })} />;
  if (state.status === 'error') return <ErrorState error={state.error} onRetry={state.reload} page={page === true} />;
  return <>{children(state.data)}</>;
}
