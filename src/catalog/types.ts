/**
 * Plain objects the catalog returns. Names follow the domain words of DESIGN.md.
 */

/** How identifying or sensitive a column is; drives minimisation in permits and extracts. */
export const SENSITIVITIES = ['direct_identifier', 'pseudonym', 'potential_identifier', 'sensitive', 'other'] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];

/** Frictionless Table Schema field types. */
export const COLUMN_TYPES = [
  'string', 'number', 'integer', 'boolean', 'object', 'array', 'date', 'time', 'datetime',
  'year', 'yearmonth', 'duration', 'geopoint', 'geojson', 'any',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** The Table Schema constraints the catalog keeps (others are dropped at import). */
export interface ColumnConstraints {
  readonly required?: boolean;
  readonly unique?: boolean;
  readonly enum?: readonly (string | number | boolean)[];
  readonly pattern?: string;
  readonly minimum?: number | string;
  readonly maximum?: number | string;
  readonly minLength?: number;
  readonly maxLength?: number;
}

export interface ForeignKey {
  readonly fields: readonly string[];
  readonly reference: { readonly resource: string; readonly fields: readonly string[] };
}

/** A column definition as read from a schema file (before sensitivity is attached). */
export interface ColumnDefinition {
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
  /** Nomenclature name, or null when the schema says `-` or nothing. */
  readonly nomenclature: string | null;
  /** As declared: `"4"`, or `"10,2"` for decimals; null when absent. */
  readonly length: string | null;
  readonly format: string | null;
  readonly constraints: ColumnConstraints;
}

export interface TableDefinition {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly product: string;
  readonly primaryKey: readonly string[];
  readonly foreignKeys: readonly ForeignKey[];
  /** Optional table-level `enclave` object, e.g. `{"yearColumn": "EXE_SOI_DTD"}`. */
  readonly enclave: Readonly<Record<string, unknown>> | null;
  /** Path of the schema file relative to the imported directory. */
  readonly sourceFile: string;
  readonly columns: readonly ColumnDefinition[];
}

export interface NomenclatureDefinition {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly codeField: string;
  readonly labelField: string | null;
  readonly fields: readonly { readonly name: string; readonly type: string }[];
  /** Distinct codes with their label; null when the CSV is absent. */
  readonly codes: readonly (readonly [code: string, label: string | null])[] | null;
  readonly sourceFile: string;
}

/** Everything read from one directory. */
export interface SchemaDirectory {
  readonly title: string | null;
  readonly description: string | null;
  readonly tables: readonly TableDefinition[];
  readonly nomenclatures: readonly NomenclatureDefinition[];
}

export interface CatalogColumn extends ColumnDefinition {
  readonly position: number;
  readonly sensitivity: Sensitivity;
  readonly sensitivityReason: string;
  /** Which mapping entry decided: `column:X`, `table:T`, `pattern:<id>` or `default`. */
  readonly sensitivityRule: string;
}

export interface CatalogTableSummary {
  readonly dataset: string;
  readonly name: string;
  readonly title: string;
  readonly product: string;
  readonly columnCount: number;
  /** Keys of the table, so that a diagram of a dataset's links needs one request, not one per table. */
  readonly primaryKey: readonly string[];
  readonly foreignKeys: readonly ForeignKey[];
}

export interface CatalogTable {
  readonly dataset: string;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly product: string;
  readonly primaryKey: readonly string[];
  readonly foreignKeys: readonly ForeignKey[];
  readonly enclave: Readonly<Record<string, unknown>> | null;
  readonly sourceFile: string;
  readonly columns: readonly CatalogColumn[];
}

export interface CatalogDatasetSummary {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly tableCount: number;
  readonly columnCount: number;
  readonly importedAt: string;
  readonly contentSha256: string;
}

export interface CatalogDataset extends CatalogDatasetSummary {
  readonly tables: readonly CatalogTableSummary[];
}

export interface NomenclatureSummary {
  readonly name: string;
  readonly dataset: string | null;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly codeCount: number;
  readonly codesAvailable: boolean;
}

export interface NomenclatureCode {
  readonly code: string;
  readonly label: string | null;
}

export interface NomenclaturePage extends NomenclatureSummary {
  readonly codeField: string;
  readonly labelField: string | null;
  readonly limit: number;
  readonly offset: number;
  readonly codes: readonly NomenclatureCode[];
}

export type SearchHit =
  | { readonly kind: 'dataset'; readonly dataset: string; readonly title: string; readonly description: string }
  | { readonly kind: 'table'; readonly dataset: string; readonly table: string; readonly title: string; readonly description: string }
  | {
      readonly kind: 'column';
      readonly dataset: string;
      readonly table: string;
      readonly column: string;
      readonly type: string;
      readonly description: string;
      readonly sensitivity: Sensitivity;
    }
  | { readonly kind: 'nomenclature'; readonly nomenclature: string; readonly title: string; readonly codeCount: number };

export interface ImportResult {
  readonly dataset: string;
  readonly tables: number;
  readonly columns: number;
  readonly nomenclatures: number;
  readonly codes: number;
  readonly contentSha256: string;
  /** False when the definitions were identical to what the catalog already held. */
  readonly changed: boolean;
}
