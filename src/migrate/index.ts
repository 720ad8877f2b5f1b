/**
 * Verified migration of datasets between stores, and the one resolver of where a dataset lives.
 * See docs/migration.md.
 */
export { DEFAULT_CACHE_HOLD_MS, DEFAULT_CACHE_MAX_BYTES, ReadCache, type ReadCacheOptions } from './cache.ts';
export { DatasetLocations, type DatasetLocationsDeps } from './locations.ts';
export { checkStore, datasetRoot, isVersionAncillary, type ExpectedFile, type StoreCheck, type StoreProblem } from './check.ts';
export { Throttle, copyObject, copyVerified, hashObject, isTransient, withRetry, type Expected, type RetryOptions } from './copy.ts';
export {
  DEFAULT_MIRROR_QUERIES,
  MigrationService,
  type Difference,
  type MigrationDeps,
  type MigrationPlan,
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
