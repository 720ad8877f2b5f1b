/**
 * The public shapes of the airlock's disclosure rules: what an output looks like to the rules,
 * the named thresholds, the report the rules produce and the ledger cells they compare with.
 *
 * Everything here is plain data (JSON-serialisable) so the same report object is returned by
 * the HTTP API, printed by `enclave airlock check --json`, stored with a release request and
 * carried in a release bundle.
 */

/** What one column of an output means to the rules. */
export const COLUMN_ROLES = [
  'dimension', 'count', 'magnitude', 'contributors', 'top1', 'top2', 'numerator', 'denominator',
  'coefficient', 'std_error', 'df_residual', 'time', 'at_risk', 'events', 'censored', 'identifier', 'other',
] as const;
export type ColumnRole = (typeof COLUMN_ROLES)[number];

/** What kind of table an output is; decides which rules apply. */
export const OUTPUT_KINDS = ['frequency', 'magnitude', 'rate', 'model', 'survival', 'rows'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export type CellValue = string | number | null;

export interface OutputColumn {
  readonly name: string;
  readonly role: ColumnRole;
}

/**
 * One output of a release request (a saved result table, or a CSV file checked by the CLI).
 * `rows[i][j]` is the value of `columns[j]`; `null` is an empty or suppressed cell.
 */
export interface OutputTable {
  /** Unique within a request (the file name for the CLI). */
  readonly name: string;
  readonly kind: OutputKind;
  readonly columns: readonly OutputColumn[];
  readonly rows: readonly (readonly CellValue[])[];
  /** The population definition in words (the request's context); hashed for the ledger. */
  readonly population?: string;
  /** Dataset versions the output was computed from (e.g. `snds@3`); the ledger's "same base". */
  readonly datasetVersions?: readonly string[];
  /** Where each row came from, for error messages: the 1-based source line of `rows[i]`. */
  readonly sourceLines?: readonly number[];
}

/** What a caller may say about a CSV besides its text (the CLI's sidecar `FILE.roles.json`). */
export interface CsvHints {
  /** Column name → role; wins over the inference from conventional names. */
  readonly roles?: Readonly<Record<string, ColumnRole>>;
  /** The kind; inferred from the roles when absent. */
  readonly kind?: OutputKind;
  readonly population?: string;
  readonly datasetVersions?: readonly string[];
  /** Output name (default: the file name). */
  readonly name?: string;
  /** Field separator (default: guessed among `,` `;` tab from the header line). */
  readonly delimiter?: string;
}

/** A crossing of potential-identifier classes that singles people out (e.g. month of birth × commune). */
export interface QuasiIdentifierClass {
  /** e.g. `birth_month`, `commune`, `exact_date`. */
  readonly id: string;
  /** Regular expressions (case-insensitive) on column names. */
  readonly patterns: readonly string[];
}

/**
 * The named thresholds of the rules. Defaults: DEFAULT_RULES; a permit may make them stricter
 * (`rulesFrom`), never looser than the platform's floor.
 */
export interface DisclosureRules {
  /** Smallest count that may be released, on unrounded counts (CNAM/CASD: no cell under 11). */
  readonly minimumCount: number;
  /** (n, k) dominance: the n largest contributions must not exceed k % of the total. */
  readonly dominance: { readonly n: number; readonly k: number };
  /** p % rule: total − top1 − top2 must be at least p % of top1 (the second largest must not estimate the largest within p %). */
  readonly pRatio: number;
  /** Minimum residual degrees of freedom of a model (ACRO: 10). */
  readonly minimumResidualDf: number;
  /** Minimum events (and people at risk) per time step of a survival table. */
  readonly minimumEventsPerStep: number;
  /** Rounding base of the proposed safe version when rounding is chosen (null: suppression only). */
  readonly roundingBase: number | null;
  /** Regular expressions (case-insensitive) on column names of person or professional identifiers, pseudonyms included. */
  readonly identifierColumns: readonly string[];
  /** Potential-identifier classes (from the catalogue's sensitivity mapping) recognised by column name. */
  readonly quasiIdentifiers: readonly QuasiIdentifierClass[];
  /** Crossings of classes blocked whatever the counts. */
  readonly identifierCrossings: readonly (readonly string[])[];
}

/** Every rule the report can name. */
export const RULE_IDS = [
  'minimum_count', 'secondary_disclosure', 'dominance', 'p_ratio', 'missing_contributors', 'zero', 'full_cell',
  'row_level', 'identifier', 'identifier_crossing', 'residual_df', 'survival_events', 'differencing', 'request_differencing',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export type Severity = 'block' | 'review';

/** A cell: row index in `rows` (0-based), the column, and the row's dimension values. */
export interface CellRef {
  readonly row: number;
  readonly column: string;
  /** Dimension name → value of that row (empty for outputs without dimensions). */
  readonly key: Readonly<Record<string, string>>;
}

/** A release a ledger flag points at. */
export interface LedgerRef {
  readonly projectId: string;
  readonly releaseId: string;
  readonly outputName: string;
  readonly count: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

export interface DisclosureFlag {
  readonly rule: RuleId;
  readonly severity: Severity;
  readonly output: string;
  /** The cell, or null when the flag is about the whole output (row-level data, a model). */
  readonly cell: CellRef | null;
  /** One line each; the portal picks the user's language. */
  readonly message: { readonly en: string; readonly fr: string };
  /** The figures the rule compared (value, threshold, share, …). */
  readonly details: Readonly<Record<string, string | number>>;
  /** For differencing: the earlier release or the other output of the request. */
  readonly other?: LedgerRef;
}

/** Outputs' safe version: what a checker may choose to release instead. */
export interface SafeVersion {
  readonly method: 'suppression' | 'rounding' | 'withheld' | 'unchanged';
  /** The table with suppressed cells set to null (or counts rounded); null when withheld. */
  readonly table: OutputTable | null;
  readonly primary: readonly CellRef[];
  readonly secondary: readonly CellRef[];
  /** Why this method, one line each language. */
  readonly note: { readonly en: string; readonly fr: string };
  /** Always true: a proposal is never released without two checkers. */
  readonly requiresChecker: true;
}

export type OutputStatus = 'blocked' | 'review' | 'clean';

export interface OutputReport {
  readonly name: string;
  readonly kind: OutputKind;
  readonly status: OutputStatus;
  /** Number of cells the rules looked at (count/magnitude/rate/model/survival cells). */
  readonly cellsChecked: number;
  readonly flags: readonly DisclosureFlag[];
  readonly safeVersion: SafeVersion;
}

export interface DisclosureReport {
  /** Bumped when the report's shape changes. */
  readonly reportVersion: 1;
  readonly rules: DisclosureRules;
  readonly outputs: readonly OutputReport[];
  readonly summary: {
    readonly status: OutputStatus;
    readonly blocks: number;
    readonly reviews: number;
    readonly cellsChecked: number;
  };
}

/** One released cell, as the release ledger keeps it (storage belongs to the airlock service). */
export interface LedgerCell {
  readonly projectId: string;
  readonly releaseId: string;
  readonly outputName: string;
  /** SHA-256 (hex) of the normalised population definition (`populationHash`). */
  readonly populationHash: string;
  /** Dataset versions, e.g. `["snds@3"]`: cells compare only on the same base. */
  readonly datasetVersions: readonly string[];
  /** Dimension name → value; compared case-insensitively on names. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** The count column's name (e.g. `n`). */
  readonly measure: string;
  readonly count: number;
}

/** Who is asking: the project of the request, so the ledger can say "same project" or "another project". */
export interface CheckContext {
  readonly projectId?: string;
}
