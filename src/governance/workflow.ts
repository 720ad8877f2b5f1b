/**
 * The review workflow as tables the compiler checks: which status may follow which
 * (`TRANSITIONS`), and the named actions that move a project, each with the one kind of
 * person allowed to take it (`ACTIONS`). An action whose target is not a permitted successor
 * of every status it starts from does not type-check.
 */
export const PROJECT_STATUSES = [
  'draft', 'submitted', 'ethics_review', 'legal_review', 'committee_review', 'changes_requested',
  'active', 'suspended', 'expired', 'closed', 'revoked', 'rejected', 'withdrawn',
] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export const TRANSITIONS = {
  draft: ['submitted', 'withdrawn'],
  // submitted = waiting for the completeness check
  submitted: ['ethics_review', 'changes_requested', 'withdrawn'],
  ethics_review: ['legal_review', 'changes_requested', 'rejected'],
  legal_review: ['committee_review', 'changes_requested', 'rejected'],
  committee_review: ['active', 'changes_requested', 'rejected'],
  changes_requested: ['submitted', 'withdrawn'],
  active: ['suspended', 'expired', 'closed', 'revoked'],
  suspended: ['active', 'expired', 'closed', 'revoked'],
  expired: [],
  closed: [],
  revoked: [],
  rejected: [],
  withdrawn: [],
} as const satisfies Record<ProjectStatus, readonly ProjectStatus[]>;

/** Statuses in which the application may be edited by its principal investigator. */
export const EDITABLE_STATUSES = ['draft', 'changes_requested'] as const satisfies readonly ProjectStatus[];
/** Statuses in which someone reviews the project (four eyes applies). */
export const REVIEW_STATUSES = ['submitted', 'ethics_review', 'legal_review', 'committee_review'] as const satisfies readonly ProjectStatus[];
/** Statuses in which a permit may be in force. */
export const PERMIT_STATUSES = ['active'] as const satisfies readonly ProjectStatus[];

/** Who may take an action: a platform role (four eyes applies), the project's PI, or either. */
export type ActionActor = 'principal_investigator' | 'access_committee' | 'ethics_reviewer' | 'legal_reviewer' | 'principal_investigator_or_committee';

/** Successors allowed by a transition table from every status of F (the intersection of their lists). */
type CommonTargets<Table extends Readonly<Record<string, readonly string[]>>, F extends keyof Table> = { [K in F]: (x: Table[K][number]) => void }[F] extends (x: infer I) => void ? I : never;

/** One action of a workflow (a project's or an amendment's): from which statuses, to which one, by whom. */
interface ActionSpec<F extends string, T extends string> {
  readonly from: readonly F[];
  readonly to: T;
  readonly by: ActionActor;
  /** The review step recorded (reviews table), if this is a review act. */
  readonly step: 'completeness' | 'ethics' | 'legal' | 'committee' | null;
  readonly decision: 'approve' | 'return' | 'reject' | null;
  readonly summary: string;
}

function action<const F extends ProjectStatus, const T extends CommonTargets<typeof TRANSITIONS, F> & ProjectStatus>(spec: ActionSpec<F, T>): ActionSpec<F, T> {
  return spec;
}

export const ACTIONS = {
  submit: action({ from: ['draft', 'changes_requested'], to: 'submitted', by: 'principal_investigator', step: null, decision: null, summary: 'submit the application for review' }),
  withdraw: action({ from: ['draft', 'submitted', 'changes_requested'], to: 'withdrawn', by: 'principal_investigator', step: null, decision: null, summary: 'withdraw the application' }),
  accept_complete: action({ from: ['submitted'], to: 'ethics_review', by: 'access_committee', step: 'completeness', decision: 'approve', summary: 'record the application as complete' }),
  return_incomplete: action({ from: ['submitted'], to: 'changes_requested', by: 'access_committee', step: 'completeness', decision: 'return', summary: 'return an incomplete application' }),
  ethics_favourable: action({ from: ['ethics_review'], to: 'legal_review', by: 'ethics_reviewer', step: 'ethics', decision: 'approve', summary: 'give a favourable ethics and scientific opinion' }),
  ethics_return: action({ from: ['ethics_review'], to: 'changes_requested', by: 'ethics_reviewer', step: 'ethics', decision: 'return', summary: 'ask for changes (ethics)' }),
  ethics_unfavourable: action({ from: ['ethics_review'], to: 'rejected', by: 'ethics_reviewer', step: 'ethics', decision: 'reject', summary: 'give an unfavourable opinion' }),
  legal_approve: action({ from: ['legal_review'], to: 'committee_review', by: 'legal_reviewer', step: 'legal', decision: 'approve', summary: 'confirm the legal basis' }),
  legal_return: action({ from: ['legal_review'], to: 'changes_requested', by: 'legal_reviewer', step: 'legal', decision: 'return', summary: 'ask for changes (legal)' }),
  legal_reject: action({ from: ['legal_review'], to: 'rejected', by: 'legal_reviewer', step: 'legal', decision: 'reject', summary: 'refuse on legal grounds' }),
  committee_approve: action({ from: ['committee_review'], to: 'active', by: 'access_committee', step: 'committee', decision: 'approve', summary: 'approve the permit (two distinct committee members needed)' }),
  committee_return: action({ from: ['committee_review'], to: 'changes_requested', by: 'access_committee', step: 'committee', decision: 'return', summary: 'ask for changes (committee)' }),
  committee_reject: action({ from: ['committee_review'], to: 'rejected', by: 'access_committee', step: 'committee', decision: 'reject', summary: 'refuse the permit' }),
  suspend: action({ from: ['active'], to: 'suspended', by: 'access_committee', step: null, decision: null, summary: 'suspend access at once' }),
  reinstate: action({ from: ['suspended'], to: 'active', by: 'access_committee', step: null, decision: null, summary: 'reinstate a suspended permit' }),
  revoke: action({ from: ['active', 'suspended'], to: 'revoked', by: 'access_committee', step: null, decision: null, summary: 'revoke the permit for good' }),
  close: action({ from: ['active', 'suspended'], to: 'closed', by: 'principal_investigator_or_committee', step: null, decision: null, summary: 'close the project at its end' }),
  expire: action({ from: ['active', 'suspended'], to: 'expired', by: 'access_committee', step: null, decision: null, summary: 'record that the permit has expired' }),
} as const;

export type ActionName = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];

export function isActionName(s: string): s is ActionName {
  return Object.hasOwn(ACTIONS, s);
}

export function isProjectStatus(s: string): s is ProjectStatus {
  return (PROJECT_STATUSES as readonly string[]).includes(s);
}

/** True when `to` may follow `from` in the table. */
export function canMove(from: ProjectStatus, to: ProjectStatus): boolean {
  return (TRANSITIONS[from] as readonly ProjectStatus[]).includes(to);
}

/** The actions available from a status (drives the UI; who may take them is policy.ts). */
export function actionsFrom(status: ProjectStatus): ActionName[] {
  return ACTION_NAMES.filter((a) => (ACTIONS[a].from as readonly ProjectStatus[]).includes(status));
}

/**
 * Amendments of an active permit: their own small workflow, beside the project's, so that the
 * project stays `active` (and its permit in force, unchanged) while the amendment is reviewed.
 * The review steps are the project's (same action names, same people, four eyes); approval puts
 * a new permit version in force that supersedes the previous one. `lapsed` is reached only when
 * the project itself ends (revoked, closed, expired) with an amendment still open.
 */
export const AMENDMENT_STATUSES = [
  'submitted', 'ethics_review', 'legal_review', 'committee_review', 'changes_requested', 'approved', 'rejected', 'withdrawn', 'lapsed',
] as const;
export type AmendmentStatus = (typeof AMENDMENT_STATUSES)[number];

export const AMENDMENT_TRANSITIONS = {
  submitted: ['ethics_review', 'changes_requested', 'withdrawn', 'lapsed'],
  ethics_review: ['legal_review', 'changes_requested', 'rejected', 'lapsed'],
  legal_review: ['committee_review', 'changes_requested', 'rejected', 'lapsed'],
  committee_review: ['approved', 'changes_requested', 'rejected', 'lapsed'],
  changes_requested: ['submitted', 'withdrawn', 'lapsed'],
  approved: [],
  rejected: [],
  withdrawn: [],
  lapsed: [],
} as const satisfies Record<AmendmentStatus, readonly AmendmentStatus[]>;

/** Statuses of an amendment still under way: at most one per project. */
export const OPEN_AMENDMENT_STATUSES = ['submitted', 'ethics_review', 'legal_review', 'committee_review', 'changes_requested'] as const satisfies readonly AmendmentStatus[];
/** Project statuses in which an open amendment may be reviewed (filing needs `active`). */
export const AMENDABLE_PROJECT_STATUSES = ['active', 'suspended'] as const satisfies readonly ProjectStatus[];

function amendmentAction<const F extends AmendmentStatus, const T extends CommonTargets<typeof AMENDMENT_TRANSITIONS, F> & AmendmentStatus>(spec: ActionSpec<F, T>): ActionSpec<F, T> {
  return spec;
}

/** The amendment's actions; review actions carry the project's names so the same routes and CLI steps map onto them. */
export const AMENDMENT_ACTIONS = {
  submit: amendmentAction({ from: ['changes_requested'], to: 'submitted', by: 'principal_investigator', step: null, decision: null, summary: 'resubmit the amendment' }),
  withdraw: amendmentAction({ from: ['submitted', 'changes_requested'], to: 'withdrawn', by: 'principal_investigator', step: null, decision: null, summary: 'withdraw the amendment' }),
  accept_complete: amendmentAction({ from: ['submitted'], to: 'ethics_review', by: 'access_committee', step: 'completeness', decision: 'approve', summary: 'record the amendment as complete' }),
  return_incomplete: amendmentAction({ from: ['submitted'], to: 'changes_requested', by: 'access_committee', step: 'completeness', decision: 'return', summary: 'return an incomplete amendment' }),
  ethics_favourable: amendmentAction({ from: ['ethics_review'], to: 'legal_review', by: 'ethics_reviewer', step: 'ethics', decision: 'approve', summary: 'give a favourable opinion on the amendment' }),
  ethics_return: amendmentAction({ from: ['ethics_review'], to: 'changes_requested', by: 'ethics_reviewer', step: 'ethics', decision: 'return', summary: 'ask for changes to the amendment (ethics)' }),
  ethics_unfavourable: amendmentAction({ from: ['ethics_review'], to: 'rejected', by: 'ethics_reviewer', step: 'ethics', decision: 'reject', summary: 'give an unfavourable opinion on the amendment' }),
  legal_approve: amendmentAction({ from: ['legal_review'], to: 'committee_review', by: 'legal_reviewer', step: 'legal', decision: 'approve', summary: 'confirm the legal basis of the amendment' }),
  legal_return: amendmentAction({ from: ['legal_review'], to: 'changes_requested', by: 'legal_reviewer', step: 'legal', decision: 'return', summary: 'ask for changes to the amendment (legal)' }),
  legal_reject: amendmentAction({ from: ['legal_review'], to: 'rejected', by: 'legal_reviewer', step: 'legal', decision: 'reject', summary: 'refuse the amendment on legal grounds' }),
  committee_approve: amendmentAction({ from: ['committee_review'], to: 'approved', by: 'access_committee', step: 'committee', decision: 'approve', summary: 'approve the amended permit (two distinct committee members needed)' }),
  committee_return: amendmentAction({ from: ['committee_review'], to: 'changes_requested', by: 'access_committee', step: 'committee', decision: 'return', summary: 'ask for changes to the amendment (committee)' }),
  committee_reject: amendmentAction({ from: ['committee_review'], to: 'rejected', by: 'access_committee', step: 'committee', decision: 'reject', summary: 'refuse the amendment' }),
} as const;

export type AmendmentActionName = keyof typeof AMENDMENT_ACTIONS;
export const AMENDMENT_ACTION_NAMES = Object.keys(AMENDMENT_ACTIONS) as AmendmentActionName[];

export function isAmendmentActionName(s: string): s is AmendmentActionName {
  return Object.hasOwn(AMENDMENT_ACTIONS, s);
}

export function isOpenAmendment(status: AmendmentStatus): boolean {
  return (OPEN_AMENDMENT_STATUSES as readonly AmendmentStatus[]).includes(status);
}

export function amendmentActionsFrom(status: AmendmentStatus): AmendmentActionName[] {
  return AMENDMENT_ACTION_NAMES.filter((a) => (AMENDMENT_ACTIONS[a].from as readonly AmendmentStatus[]).includes(status));
}
