import { lazy, Suspense, type ReactNode } from 'react';
import { useI18n } from './i18n.tsx';
import { AuditPage } from './pages/audit.tsx';
import { CataloguePage, SearchPage } from './pages/catalogue.tsx';
import { DatasetPage, TablePage } from './pages/dataset.tsx';
import { NomenclaturePage, NomenclaturesPage } from './pages/nomenclatures.tsx';
import { NotFoundPage } from './pages/page.tsx';
import { OperatorPage } from './pages/operator.tsx';
import { InboxPage, ProjectPage, ProjectsPage } from './pages/projects.tsx';
import { RegisterPage } from './pages/register.tsx';
import { EditProjectPage, WizardPage } from './pages/wizard.tsx';
import { AirlockProjectPage, AirlockQueuePage, AirlockRequestPage } from './pages/airlock.tsx';
import { useAirlockText } from './pages/airlock-text.ts';
import { Loading } from './kit/index.ts';
import { LoginLink, RequireLogin, SessionExpiredBanner, useSession } from './session.tsx';
import { Link, match, useRouter } from './router.tsx';

// The workspace brings CodeMirror and Chart.js: loaded only when a member opens it.
const WorkspacePage = lazy(() => import('./pages/workspace.tsx').then((m) => ({ default: m.WorkspacePage })));

interface RouteDef {
  readonly pattern: string;
  readonly render: (p: Record<string, string>) => ReactNode;
}

const ROUTES: readonly RouteDef[] = [
  { pattern: '/', render: () => <CataloguePage /> },
  { pattern: '/search', render: () => <SearchPage /> },
  { pattern: '/datasets/:dataset', render: (p) => <DatasetPage dataset={p['dataset'] ?? ''} /> },
  { pattern: '/datasets/:dataset/tables/:table', render: (p) => <TablePage key={`${p['dataset']}.${p['table']}`} dataset={p['dataset'] ?? ''} table={p['table'] ?? ''} /> },
  { pattern: '/nomenclatures', render: () => <NomenclaturesPage /> },
  { pattern: '/nomenclatures/:name', render: (p) => <NomenclaturePage key={p['name']} name={p['name'] ?? ''} /> },
  { pattern: '/register', render: () => <RegisterPage /> },
  { pattern: '/audit', render: () => <AuditPage /> },
  { pattern: '/projects', render: () => <ProjectsPage /> },
  { pattern: '/projects/new', render: () => <RequireLogin roles={['applicant']}><WizardPage /></RequireLogin> },
  { pattern: '/projects/:id', render: (p) => <ProjectPage id={p['id'] ?? ''} /> },
  { pattern: '/projects/:id/workspace', render: (p) => <Suspense fallback={<Loading />}><WorkspacePage id={p['id'] ?? ''} /></Suspense> },
  { pattern: '/projects/:id/edit', render: (p) => <RequireLogin><EditProjectPage key={p['id']} id={p['id'] ?? ''} /></RequireLogin> },
  { pattern: '/review', render: () => <InboxPage /> },
  { pattern: '/operator', render: () => <OperatorPage /> },
  { pattern: '/projects/:id/airlock', render: (p) => <AirlockProjectPage id={p['id'] ?? ''} /> },
  { pattern: '/airlock', render: () => <AirlockQueuePage /> },
  { pattern: '/airlock/requests/:rid', render: (p) => <AirlockRequestPage rid={p['rid'] ?? ''} /> },
];

/** The airlock's entry in the main menu: output checkers' queue. */
function AirlockNav() {
  const { a } = useAirlockText();
  return (
    <li>
      <Link to="/airlock">{a.nav}</Link>
    </li>
  );
}

function Page() {
  const { path } = useRouter();
  for (const r of ROUTES) {
    const params = match(r.pattern, path);
    if (params !== null) return <>{r.render(params)}</>;
  }
  return <NotFoundPage />;
}

function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  const other = lang === 'fr' ? 'en' : 'fr';
  return (
    <button type="button" className="button button-ghost lang-switch" lang={other} aria-label={t.switchLanguageLabel} onClick={() => setLang(other)} data-testid="lang-switch">
      {t.switchLanguage}
    </button>
  );
}

function UserMenu() {
  const { t } = useI18n();
  const { me, logout } = useSession();
  const { navigate } = useRouter();
  if (me === undefined) return null;
  if (me === null) return <LoginLink className="button button-ghost" />;
  return (
    <>
      <span className="header-user" data-testid="user">
        {t.loggedInAs(me.displayName)}
      </span>
      <button type="button" className="button button-ghost" data-testid="logout" onClick={() => void logout().then(() => navigate('/'))}>
        {t.logout}
      </button>
    </>
  );
}

export function App() {
  const { t } = useI18n();
  const { me, hasRole } = useSession();
  return (
    <>
      <a href="#main" className="skip-link">
        {t.skipToContent}
      </a>
      <header className="site-header">
        <div className="header-inner">
          <Link to="/" className="brand">
            <svg aria-hidden="true" viewBox="0 0 32 32" width="28" height="28">
              <rect width="32" height="32" rx="6" className="brand-mark" />
              <path d="M9 9h14v3H13v3h8v3h-8v3h10v3H9z" className="brand-letter" />
            </svg>
            <span className="brand-name">{t.appName}</span>
            <span className="brand-tagline">{t.tagline}</span>
          </Link>
          <div className="header-tools">
            <LanguageSwitch />
            <UserMenu />
          </div>
        </div>
        <nav aria-label={t.navMain} className="main-nav">
          <ul>
            <li>
              <Link to="/">{t.navCatalogue}</Link>
            </li>
            <li>
              <Link to="/nomenclatures">{t.navNomenclatures}</Link>
            </li>
            <li>
              <Link to="/register">{t.navRegister}</Link>
            </li>
            <li>
              <Link to="/audit">{t.navAudit}</Link>
            </li>
            {me !== null && me !== undefined && (
              <li>
                <Link to="/projects">{t.navProjects}</Link>
              </li>
            )}
            {(hasRole('access_committee') || hasRole('ethics_reviewer') || hasRole('legal_reviewer')) && (
              <li>
                <Link to="/review">{t.navReview}</Link>
              </li>
            )}
            {hasRole('output_checker') && <AirlockNav />}
            {hasRole('operator') && (
              <li>
                <Link to="/operator">{t.navOperator}</Link>
              </li>
            )}
          </ul>
        </nav>
      </header>
      <main id="main" className="main">
        <SessionExpiredBanner />
        <Page />
      </main>
      <footer className="site-footer">
        <p>
          {t.appName} · {t.tagline} · <a href="/api/v1/openapi.json">API</a>
        </p>
      </footer>
    </>
  );
}
