/**
 * The release request's workflow as tables the compiler checks: which status may follow which
 * (`REQUEST_TRANSITIONS`), who may act in each status (`STATUS_ACTORS`), and the named actions,
 * each from some statuses to successors every one of them allows (`REQUEST_ACTIONS`). An action
 * whose targets are not permitted successors of every status it starts from does not type-check.
 */
export const REQUEST_STATUSES = ['draft', 'submitted', 'in_review', 'returned', 'released', 'rejected', 'withdrawn'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const REQUEST_TRANSITIONS = {
  // the member writes the request and picks its outputs
  draft: ['submitted', 'withdrawn'],
  // waiting for checkers; a single review can release it when the other checker's approvals of
  // unchanged outputs still stand (a resubmission after a return)
  submitted: ['in_review', 'released', 'returned', 'rejected', 'withdrawn'],
  // at least one checker has voted; more approvals are needed
  in_review: ['released', 'returned', 'rejected', 'withdrawn'],
  // a checker asked for changes: the member changes outputs (their votes reset) and resubmits
  returned: ['submitted', 'withdrawn'],
  released: [],
  rejected: [],
  withdrawn: [],
} as const satisfies Record<RequestStatus, readonly RequestStatus[]>;

/** Who acts on a request: a member of its project (named in the permit in force), or an output checker outside it. */
export type RequestActor = 'member' | 'output_checker';

/** Who may act in each status; terminal statuses belong to nobody (members still download a release). */
export const STATUS_ACTORS = {
  draft: ['member'],
  submitted: ['output_checker', 'member'],
  in_review: ['output_checker', 'member'],
  returned: ['member'],
  released: [],
  rejected: [],
  withdrawn: [],
} as const satisfies Record<RequestStatus, readonly RequestActor[]>;

/** Statuses in which the member changes the request and its outputs. */
export const EDITABLE_REQUEST_STATUSES = ['draft', 'returned'] as const satisfies readonly RequestStatus[];
/** Statuses in which checkers vote. */
export const REVIEWABLE_REQUEST_STATUSES = ['submitted', 'in_review'] as const satisfies readonly RequestStatus[];
/** Statuses that end a request. */
export const FINAL_REQUEST_STATUSES = ['released', 'rejected', 'withdrawn'] as const satisfies readonly RequestStatus[];

/** Successors allowed from every status of F (the intersection of their lists). */
type CommonTargets<F extends RequestStatus> = { [K in F]: (x: (typeof REQUEST_TRANSITIONS)[K][number]) => void }[F] extends (x: infer I) => void ? I : never;

interface ActionSpec<F extends RequestStatus, T extends RequestStatus> {
  readonly from: readonly F[];
  readonly to: readonly T[];
  readonly by: RequestActor;
  readonly summary: string;
}

function action<const F extends RequestStatus, const T extends CommonTargets<F> & RequestStatus>(spec: ActionSpec<F, T>): ActionSpec<F, T> {
  return spec;
}

export const REQUEST_ACTIONS = {
  edit: action({ from: ['draft', 'returned'], to: [], by: 'member', summary: 'change the request or its outputs' }),
  submit: action({ from: ['draft', 'returned'], to: ['submitted'], by: 'member', summary: 'submit the request to the output checkers' }),
  withdraw: action({ from: ['draft', 'submitted', 'in_review', 'returned'], to: ['withdrawn'], by: 'member', summary: 'withdraw the request' }),
  review: action({ from: ['submitted', 'in_review'], to: ['released', 'returned', 'rejected'], by: 'output_checker', summary: 'review the request\'s outputs' }),
} as const;

export type RequestActionName = keyof typeof REQUEST_ACTIONS;
export const REQUEST_ACTION_NAMES = Object.keys(REQUEST_ACTIONS) as RequestActionName[];

/** A checker's decision on one output. */
export const VOTE_DECISIONS = ['approve', 'return', 'reject'] as const;
export type VoteDecision = (typeof VOTE_DECISIONS)[number];

/**
 * Structured reason codes of a vote (Airlock and SACRO practice): the comment says the rest.
 * Approvals name why the output is safe; returns and refusals name the risk.
 */
export const REASON_CODES = {
  approve: ['rules_clean', 'flags_reviewed_safe', 'context_sufficient', 'other'],
  return: ['small_cells', 'secondary_disclosure', 'dominance', 'differencing', 'context_missing', 'underlying_counts_missing', 'apply_safe_version', 'other'],
  reject: ['row_level_data', 'identifiers', 'identifier_crossing', 'differencing', 'not_in_permit_purpose', 'other'],
} as const satisfies Record<VoteDecision, readonly string[]>;
export type ReasonCode = (typeof REASON_CODES)[VoteDecision][number];

/** Checkers whose approval of an output's current version releases it, at least. */
export const MIN_CHECKERS = 2;

export function isRequestStatus(s: string): s is RequestStatus {
  return (REQUEST_STATUSES as readonly string[]).includes(s);
}

export function canMoveRequest(from: RequestStatus, to: RequestStatus): boolean {
  return (REQUEST_TRANSITIONS[from] as readonly RequestStatus[]).includes(to);
}

/** Actions available from a status (who may take them is policy.ts). */
export function requestActionsFrom(status: RequestStatus): RequestActionName[] {
  return REQUEST_ACTION_NAMES.filter((a) => (REQUEST_ACTIONS[a].from as readonly RequestStatus[]).includes(status));
}

/**
 * The request's status once votes are counted: any refusal ends it; any return sends it back;
 * every output approved by enough distinct checkers releases it; otherwise it is under review.
 */
export function statusAfterVotes(outputs: readonly { readonly votes: readonly { readonly checkerId: string; readonly decision: VoteDecision }[] }[], required: number): Extract<RequestStatus, 'released' | 'returned' | 'rejected' | 'in_review'> {
  const all = outputs.flatMap((o) => o.votes);
  if (all.some((v) => v.decision === 'reject')) return 'rejected';
  if (all.some((v) => v.decision === 'return')) return 'returned';
  const approved = outputs.length > 0 && outputs.every((o) => new Set(o.votes.filter((v) => v.decision === 'approve').map((v) => v.checkerId)).size >= Math.max(required, MIN_CHECKERS));
  return approved ? 'released' : 'in_review';
}
