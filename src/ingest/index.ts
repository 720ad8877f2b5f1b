/**
 * Ingestion of deliveries (DuckDB-only): validated, pseudonymised, encrypted, and published as a
 * new dataset version through the datasets domain. See docs/ingestion.md.
 */
export {
  IngestService,
  MAX_REPORT_ENTRIES,
  MAX_REPORT_PAGE,
  MIN_LANDED_SHARE,
  shortTables,
  checkHeader,
  matchTable,
  type EncryptedParquetWriter,
  type IngestCatalog,
  type IngestDeps,
  type IngestOptions,
  type IngestProgress,
  type IngestResult,
  type QuarantineEntry,
  type QuarantineReport,
  type QuarantineReportPage,
  type ReportPageRequest,
  type RelationReport,
  type ShortTable,
  type TableReport,
} from './ingest-service.ts';
export { checkNir, nirControlKey, type NirCheck } from './nir.ts';
export { RULES, type Rule } from './rules.ts';
export { ingestCatalogFrom } from './catalog-adapter.ts';
export { DATE_FORMATS, DEFAULT_PROFILE, parseProfile, strptimeOf, type DeliveryProfile, type Encoding, type FileRule } from './profile.ts';
export { inferDateSpelling, type DetectedColumn, type DetectedFile, type Detection } from './detect.ts';
export { tableOfFile } from './file-tables.ts';
