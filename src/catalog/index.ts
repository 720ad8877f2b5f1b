/**
 * Catalog domain: what datasets, tables and columns exist, how sensitive each column is, and
 * the nomenclatures (code lists) columns refer to. Other domains import only from here.
 */
export {
  BUILTIN_DATASET,
  BUILTIN_SCHEMA_DIR,
  CatalogService,
  importBuiltinCatalog,
  type CatalogActor,
  type CatalogAudit,
  type CatalogServiceOptions,
  type ImportOptions,
} from './service.ts';
export {
  loadSensitivityMapping,
  parseSensitivityMapping,
  SensitivityClassifier,
  SNDS_SENSITIVITY_FILE,
  type SensitivityDecision,
  type SensitivityEntry,
  type SensitivityMapping,
  type SensitivityPattern,
} from './sensitivity.ts';
export { parseTableSchema, readSchemaDirectory } from './schema-reader.ts';
export * from './types.ts';
