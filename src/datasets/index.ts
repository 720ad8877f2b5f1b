/**
 * Dataset versions and where their files live: the one owner of versions, manifests, publishing a
 * version into the active store, locating and attaching a version for reading, the read cache and
 * verified copies between stores. Ingestion publishes into it, migration moves through it, the
 * workspace reads through it. See docs/datasets.md.
 */
export {
  datasetRoot,
  isVersionAncillary,
  stagingKeyOf,
  versionPrefix,
  type DatasetLocator,
  type DatasetVersion,
  type Manifest,
  type ManifestFile,
} from './version.ts';
export { DatasetVersions, type DatasetVersionsDeps, type EngineVersionCopy, type PublishRequest } from './versions.ts';
export { DatasetLocations, type DatasetLocationsDeps } from './locations.ts';
export { DEFAULT_CACHE_HOLD_MS, DEFAULT_CACHE_MAX_BYTES, ReadCache, type ReadCacheOptions } from './cache.ts';
export { Throttle, copyObject, copyVerified, hashObject, isTransient, withRetry, type CopyOptions, type Expected, type RetryOptions } from './copy.ts';
