/**
 * Operators: the engine each project runs on (DuckDB or Trino, issue 17 item 4) and moving a
 * project to another engine the deployment runs. Every project is listed, with its status, in
 * one request (GET /operator/projects/engines), and why its last move failed when one did (the
 * rebuild failed and the project was put back: project.engine.revert). A move answers 202: the extract is rebuilt on the new engine
 * in the background and the workspace switches when it is ready (docs/workspace.md, "Engines").
 * Below, the drops closed projects still owe an engine (unreachable at their closure; retried
 * every minute by the server, or now with the button), shown only when there are some.
 * Texts live here (French and English) so that branches changing other pages merge cleanly.
 */
import { useState } from 'react';
import { ApiError, get, request } from '../api.ts';
import { useI18n, type Lang } from '../i18n.tsx';
import { Async, Badge, ConfirmButton, DataTable, ErrorState, useAsync } from '../kit/index.ts';
import type { EngineCleanup, EngineCleanupPass, EngineFailure, EngineName, ProjectEngineChange, ProjectEnginesPage, ProjectStatus } from '../api/generated.ts';

/** Projects asked for at once: the route's most; a deployment with more says how many are not shown. */
const PAGE = 500;
/** Statuses whose workspace has ended: their engine no longer changes (the server refuses with 409). */
const ENDED: ReadonlySet<ProjectStatus> = new Set<ProjectStatus>(['closed', 'revoked', 'rejected', 'withdrawn', 'expired']);

const en = {
  title: 'Engines of projects',
  explain: 'Each project runs on one engine: the deployment\'s default, or the one an operator chose. Moving a project rebuilds its extract on the new engine in the background; members keep working on the old one until it is ready. Saved tables stay with the engine they were made on.',
  onlyOne: 'Only DuckDB runs here: set ENCLAVE_TRINO_URL and ENCLAVE_TRINO_RULES_FILE to offer Trino beside it.',
  none: 'No project yet.',
  project: 'Project', status: 'Status', engine: 'Engine', serving: 'Serving now', action: 'Move', lastFailure: 'Last failed move',
  failed: (e: string, at: string, reason: string) => `The last move to ${e} failed at ${at}: ${reason}. The project was put back.`,
  more: (shown: number, total: number) => `The first ${String(shown)} of ${String(total)} projects are shown.`,
  isDefault: 'default', moving: 'moving', noExtract: 'no extract',
  moveTo: (e: string) => `Move to ${e}`,
  question: (p: string, e: string) => `Move project ${p} to ${e}? Its extract is rebuilt there; the workspace switches when it is ready.`,
  accepted: (p: string, e: string) => `Project ${p} is moving to ${e}: its extract is being rebuilt.`,
  unchanged: (p: string, e: string) => `Project ${p} is on ${e}.`,
  name: { duckdb: 'DuckDB', trino: 'Trino' } as Record<EngineName, string>,
  owedTitle: 'Drops owed by closed projects',
  owedExplain: 'These closed projects\' copies could not be dropped from the engine at their closure (it was unreachable). Their keys are destroyed, so the copies are unreadable; the server drops them as soon as the engine answers (tried every minute, each attempt audited).',
  owedSince: 'Owed since', attempts: 'Attempts', lastError: 'Last error',
  retry: 'Try again now', retryQuestion: 'Try every owed drop now?',
  retried: (paid: number, left: number) => `${paid} dropped, ${left} still owed.`,
};
const fr: typeof en = {
  title: 'Moteurs des projets',
  explain: 'Chaque projet s\'exécute sur un moteur : celui par défaut du déploiement, ou celui choisi par un opérateur. Déplacer un projet reconstruit son extraction sur le nouveau moteur en arrière-plan ; les membres continuent sur l\'ancien jusqu\'à ce qu\'elle soit prête. Les tables enregistrées restent sur le moteur où elles ont été créées.',
  onlyOne: 'Seul DuckDB tourne ici : définissez ENCLAVE_TRINO_URL et ENCLAVE_TRINO_RULES_FILE pour proposer Trino à côté.',
  none: 'Aucun projet pour l\'instant.',
  project: 'Projet', status: 'Statut', engine: 'Moteur', serving: 'Sert actuellement', action: 'Déplacer', lastFailure: 'Dernier déplacement échoué',
  failed: (e, at, reason) => `Le dernier déplacement vers ${e} a échoué le ${at} : ${reason}. Le projet a été remis sur son moteur.`,
  more: (shown, total) => `Les ${String(shown)} premiers projets sur ${String(total)} sont affichés.`,
  isDefault: 'par défaut', moving: 'en déplacement', noExtract: 'pas d\'extraction',
  moveTo: (e) => `Déplacer vers ${e}`,
  question: (p, e) => `Déplacer le projet ${p} vers ${e} ? Son extraction y est reconstruite ; l'espace de travail bascule quand elle est prête.`,
  accepted: (p, e) => `Le projet ${p} est en cours de déplacement vers ${e} : son extraction est reconstruite.`,
  unchanged: (p, e) => `Le projet ${p} est sur ${e}.`,
  name: { duckdb: 'DuckDB', trino: 'Trino' },
  owedTitle: 'Suppressions dues par des projets clos',
  owedExplain: 'Les copies de ces projets clos n\'ont pas pu être supprimées du moteur à leur clôture (il était injoignable). Leurs clés sont détruites, les copies sont donc illisibles ; le serveur les supprime dès que le moteur répond (essai chaque minute, chaque tentative journalisée).',
  owedSince: 'Due depuis', attempts: 'Tentatives', lastError: 'Dernière erreur',
  retry: 'Réessayer maintenant', retryQuestion: 'Réessayer maintenant toutes les suppressions dues ?',
  retried: (paid, left) => `${paid} supprimée(s), ${left} encore due(s).`,
};
const TEXT: Record<Lang, typeof en> = { en, fr };

export function ProjectEngines() {
  const { lang, t } = useI18n();
  const o = TEXT[lang];
  const when = (iso: string): string => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
  };
  const failure = (f: EngineFailure) => o.failed(o.name[f.engine], when(f.at), f.reason);
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const state = useAsync(async (s) => {
    const [page, health, owed] = await Promise.all([
      get<ProjectEnginesPage>(`/api/v1/operator/projects/engines?limit=${String(PAGE)}`, s),
      get<{ engines?: EngineName[] }>('/healthz', s),
      get<{ cleanups: EngineCleanup[] }>('/api/v1/operator/engine-cleanups', s),
    ]);
    return { engines: health.engines ?? ['duckdb'], cleanups: owed.cleanups, rows: page.projects, total: page.total };
  }, []);
  const move = async (projectId: string, engine: EngineName): Promise<void> => {
    setSaid(null);
    setError(null);
    try {
      const r = await request<ProjectEngineChange>('PUT', `/api/v1/operator/projects/${encodeURIComponent(projectId)}/engine`, { engine });
      setSaid(r.accepted ? o.accepted(projectId, o.name[engine]) : o.unchanged(projectId, o.name[engine]));
      state.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : null);
    }
  };
  const retry = async (): Promise<void> => {
    setSaid(null);
    setError(null);
    try {
      const r = await request<EngineCleanupPass>('POST', '/api/v1/operator/engine-cleanups/retry');
      setSaid(o.retried(r.cleared.length, r.failed.length));
      state.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : null);
    }
  };
  return (
    <section aria-labelledby="engines-h" data-testid="project-engines">
      <h2 id="engines-h">{o.title}</h2>
      <p>{o.explain}</p>
      {said !== null && (
        <p className="notice" role="status" data-testid="engine-said">
          {said}
        </p>
      )}
      {error !== null && <ErrorState error={error} />}
      <Async state={state}>
        {({ engines, cleanups, rows, total }) => (
          <>
            {engines.length < 2 && <p className="muted small">{o.onlyOne}</p>}
            {total > rows.length && <p className="muted small">{o.more(rows.length, total)}</p>}
            <DataTable
              caption={o.title}
              captionHidden
              rows={rows}
              rowKey={(r) => r.projectId}
              empty={o.none}
              columns={[
                { key: 'p', header: o.project, rowHeader: true, render: (r) => <code>{r.projectId}</code> },
                { key: 'st', header: o.status, render: (r) => t.status[r.status] ?? r.status },
                { key: 'e', header: o.engine, render: (r) => <>{o.name[r.engine]}{r.isDefault ? <> <Badge tone="neutral">{o.isDefault}</Badge></> : null}</> },
                { key: 's', header: o.serving, render: (r) => <>{r.serving === null ? o.noExtract : o.name[r.serving]}{r.moving ? <> <Badge tone="warning">{o.moving}</Badge></> : null}</> },
                { key: 'f', header: o.lastFailure, render: (r) => (r.lastFailure === null ? null : <span className="small" data-testid="engine-failure">{failure(r.lastFailure)}</span>) },
                {
                  key: 'a', header: o.action,
                  render: (r) => ENDED.has(r.status) ? null : r.available.filter((e) => e !== r.engine).map((e) => (
                    <ConfirmButton key={e} label={o.moveTo(o.name[e])} testId={`engine-move-${e}`} question={o.question(r.projectId, o.name[e])} onConfirm={() => move(r.projectId, e)} />
                  )),
                },
              ]}
            />
            {cleanups.length > 0 && (
              <div data-testid="engine-cleanups">
                <h3>{o.owedTitle}</h3>
                <p className="muted small">{o.owedExplain}</p>
                <DataTable
                  caption={o.owedTitle}
                  captionHidden
                  rows={cleanups}
                  rowKey={(r) => `${r.projectId}/${r.engine}`}
                  empty=""
                  columns={[
                    { key: 'p', header: o.project, rowHeader: true, render: (r) => <code>{r.projectId}</code> },
                    { key: 'e', header: o.engine, render: (r) => o.name[r.engine] },
                    { key: 's', header: o.owedSince, render: (r) => new Date(r.owedSince).toLocaleString(lang) },
                    { key: 'n', header: o.attempts, render: (r) => <>{r.attempts} {r.lastError === null ? null : <Badge tone="warning">{o.lastError}: {r.lastError}</Badge>}</> },
                  ]}
                />
                <ConfirmButton label={o.retry} testId="engine-cleanups-retry" question={o.retryQuestion} onConfirm={retry} />
              </div>
            )}
          </>
        )}
      </Async>
    </section>
  );
}
