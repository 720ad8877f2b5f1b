/**
 * The project extract: the neutral plan of a permit and its materialisation (see docs/workspace.md,
 * "The extract"). The workspace reads it through `ExtractSource` (`../extract-contract.ts`).
 */
export { personColumnOf, planExtract, type ExtractCatalog } from './plan.ts';
export {
  EXTRACT_TRIGGERS, ExtractService, generationPrefix,
  type DatasetVersions, type ExtractKeys, type ExtractProgress, type ExtractServiceDeps, type PermitsInForce, type VersionFile,
} from './service.ts';
