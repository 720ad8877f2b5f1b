/**
 * Verified migration of datasets between stores: plan, copy, verify, mirror, cutover and rollback,
 * through the datasets domain (versions, locations, verified copies). See docs/migration.md.
 */
export { checkStore, type ExpectedFile, type StoreCheck, type StoreProblem } from './check.ts';
export {
  DEFAULT_MIRROR_QUERIES,
  MigrationService,
  type Difference,
  type MigrationDeps,
  type MigrationPlan,
  type MigrationStatus,
  type MirrorQueryResult,
  type MirrorResult,
  type PartitionCheck,
  type PlanCheck,
  type PlanFile,
  type PlanVersion,
  type RunOptions,
  type RunProgress,
  type RunResult,
  type SignedReport,
  type SwitchCheck,
  type VerifyResult,
} from './service.ts';
