/**
 * Governance domain: safe people and safe projects. Projects and their versioned applications,
 * the review workflow (a table the compiler checks), four eyes, permits as code, access computed
 * from the permit alone, notifications and the public register. Other domains import only here.
 */
export { applicationSchema, diffApplications, diffJson, parseApplication, type DiffEntry } from './application.ts';
export {
  DEFAULT_MINIMUM_CELL_COUNT, evaluateAccess, MAX_POTENTIAL_IDENTIFIERS, parsePermitDocument, PERMIT_SCHEMA_PATH, permitSha256,
  joinKeyConcepts, potentialIdentifierProblems, potentialIdentifiersOf, validatePermit, type AccessDecision, type AccessRequest, type TableLookup,
} from './permit.ts';
export * from './policy.ts';
export {
  COMMITTEE_APPROVALS_REQUIRED, GovernanceService, type AmendmentDetail, type GovernanceAudit, type GovernanceServiceOptions, type Mailer, type PeopleDirectory,
  type PersonName, type ProjectTrailEvent, type ProjectChange, type ProjectChangeListener, type ProjectDetail, type ProjectKeys, type TakeOptions,
} from './service.ts';
export * from './types.ts';
export * from './workflow.ts';
export type { EngineFailure, ProjectEngineRow } from './repository.ts';
export { projectEngine, projectEngines, setProjectEngine, setProjectEngineFailure } from './repository.ts';
