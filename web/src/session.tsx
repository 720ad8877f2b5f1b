/**
 * Who is logged in. The session lives in an HttpOnly cookie set by the server at the end of the
 * OIDC flow; the portal only asks /api/v1/identity/me, keeps the CSRF token for unsafe
 * requests, and notices expiry: any 401 drops the session and says so, with a way back in.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { identityApi, onUnauthenticated, setCsrfToken, type Me } from './api.ts';
import { useI18n } from './i18n.tsx';
import { Loading } from './kit/index.ts';
import { useRouter } from './router.tsx';

interface Session {
  /** undefined while asking; null when nobody is logged in. */
  readonly me: Me | null | undefined;
  readonly expired: boolean;
  readonly hasRole: (r: string) => boolean;
  readonly refresh: () => void;
  readonly logout: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { readonly children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const meRef = useRef<Me | null | undefined>(undefined);
  meRef.current = me;
  useEffect(() => {
    const ac = new AbortController();
    identityApi.me(ac.signal).then(
      (m) => {
        setMe(m);
        setCsrfToken(m?.csrfToken);
        if (m !== null) setExpired(false);
      },
      () => setMe(null),
    );
    return () => ac.abort();
  }, [attempt]);
  useEffect(
    () =>
      onUnauthenticated(() => {
        // A 401 while we thought someone was logged in: the session ended on the server.
        if (meRef.current !== null && meRef.current !== undefined) setExpired(true);
        setMe(null);
        setCsrfToken(undefined);
      }),
    [],
  );
  const refresh = useCallback(() => setAttempt((n) => n + 1), []);
  const logout = useCallback(async () => {
    try {
      await identityApi.logout();
    } finally {
      setMe(null);
      setCsrfToken(undefined);
      setExpired(false);
    }
  }, []);
  const value = useMemo<Session>(() => ({ me, expired, hasRole: (r) => me?.roles.includes(r) === true, refresh, logout }), [me, expired, refresh, logout]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (s === null) throw new Error('useSession outside SessionProvider');
  return s;
}

export function LoginLink({ className }: { readonly className?: string }) {
  const { t, lang } = useI18n();
  // The router re-renders this link on navigation; the address itself is read from the browser,
  // which a page may have updated on its own (the wizard writes its draft's id there).
  useRouter();
  const back = `${window.location.pathname}${window.location.search}`;
  // A full page load: the server starts the OIDC flow and comes back here afterwards.
  return (
    <a href={identityApi.loginUrl(back, lang)} className={className ?? 'button button-primary'} data-testid="login">
      {t.login}
    </a>
  );
}

/** Renders children only for a logged-in person (with one of `roles`, when given). */
export function RequireLogin({ roles, children }: { readonly roles?: readonly string[]; readonly children: ReactNode }) {
  const { t } = useI18n();
  const { me, expired, hasRole } = useSession();
  if (me === undefined) return <Loading />;
  if (me === null) {
    return (
      <div className="state state-empty" data-state="login-required">
        <p>{expired ? t.sessionExpired : t.loginRequired}</p>
        <LoginLink />
      </div>
    );
  }
  if (roles !== undefined && !roles.some(hasRole)) {
    return (
      <div className="state state-error" role="alert" data-state="forbidden">
        <p>{t.forbiddenRole(roles.map((r) => t.role[r] ?? r).join(', '))}</p>
      </div>
    );
  }
  return <>{children}</>;
}

/** The banner shown once a session has expired, wherever the person is. */
export function SessionExpiredBanner() {
  const { t } = useI18n();
  const { expired, me } = useSession();
  if (!expired || me !== null) return null;
  return (
    <div className="notice notice-warning" role="alert" data-testid="session-expired">
      <p>
        {t.sessionExpired} <LoginLink className="" />
      </p>
    </div>
  );
}
