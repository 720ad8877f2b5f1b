import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditDraft, AuditedTx } from '../audit/index.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import * as repo from './repository.ts';
import { readSchemaDirectory } from './schema-reader.ts';
import { loadSensitivityMapping, type SensitivityClassifier } from './sensitivity.ts';
import type {
  CatalogDataset,
  CatalogDatasetSummary,
  CatalogTable,
  ImportResult,
  NomenclaturePage,
  NomenclatureSummary,
  SearchHit,
} from './types.ts';

/** The SNDS description shipped with the product (tables it synthesises and serves by default). */
export const BUILTIN_SCHEMA_DIR = fileURLToPath(new URL('../../schemas/snds/', import.meta.url));
export const BUILTIN_DATASET = 'snds';

/** What the catalog needs from the audit log: one audited transaction per change. */
export interface CatalogAudit {
  transaction<T>(draft: AuditDraft, fn: (tx: AuditedTx) => Promise<T>): Promise<T>;
}

export type CatalogActor = AuditDraft['actor'];

export interface ImportOptions {
  /** Dataset name: lower case letters, digits, `-` and `_` (e.g. `snds`, `snds-reference`). */
  readonly dataset: string;
  readonly title?: string;
  readonly description?: string;
  readonly actor: CatalogActor;
  readonly requestId?: string;
}

export interface CatalogServiceOptions {
  readonly db: Db;
  readonly audit: CatalogAudit;
  /** Sensitivity mapping; the SNDS mapping shipped in schemas/sensitivity/ when absent. */
  readonly sensitivity?: SensitivityClassifier;
  /** Directory of the built-in schema; schemas/snds/ when absent. */
  readonly builtinDir?: string;
}

const DATASET_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const SEARCH_DEFAULT_LIMIT = 50;
export const SEARCH_MAX_LIMIT = 200;
export const CODES_DEFAULT_LIMIT = 100;
export const CODES_MAX_LIMIT = 1_000;

const FIND_DATASETS_HINT = 'list datasets with `enclave catalog ls` or GET /api/v1/catalog/datasets';

function clampLimit(v: number | undefined, dflt: number, max: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.min(Math.max(1, Math.trunc(v)), max);
}

/**
 * The catalogue: dataset → table → column definitions with sensitivity, and nomenclatures.
 * Reads are public; every change runs in one audited transaction (`catalog.import`,
 * `catalog.remove`).
 *
 * @example
 *   const catalog = new CatalogService({ db, audit });
 *   await catalog.importDirectory('/srv/schema-snds/schemas', { dataset: 'snds-reference', actor });
 *   const prs = await catalog.getTable('snds-reference', 'ER_PRS_F');
 */
export class CatalogService {
  readonly #db: Db;
  readonly #audit: CatalogAudit;
  readonly #builtinDir: string;
  #sensitivity: Promise<SensitivityClassifier> | undefined;

  constructor(options: CatalogServiceOptions) {
    this.#db = options.db;
    this.#audit = options.audit;
    this.#builtinDir = options.builtinDir ?? BUILTIN_SCHEMA_DIR;
    this.#sensitivity = options.sensitivity === undefined ? undefined : Promise.resolve(options.sensitivity);
  }

  /** The classifier in use (loaded from the shipped mapping on first use). */
  sensitivity(): Promise<SensitivityClassifier> {
    this.#sensitivity ??= loadSensitivityMapping();
    return this.#sensitivity;
  }

  /**
   * Imports every Table Schema and nomenclature under `dir` (recursive) as dataset
   * `options.dataset`, replacing its previous definitions in one audited transaction.
   * Importing identical definitions again changes nothing and records nothing.
   * Throws `AppError('invalid')` naming the file and JSON path of any problem.
   */
  async importDirectory(dir: string, options: ImportOptions): Promise<ImportResult> {
    if (!DATASET_NAME.test(options.dataset)) {
      throw new AppError('invalid', `dataset name "${options.dataset}" is not allowed`, {
        hint: 'use lower case letters, digits, "-" and "_", starting with a letter or digit (e.g. snds-reference)',
      });
    }
    const read = await readSchemaDirectory(dir);
    if (read.tables.length === 0 && read.nomenclatures.length === 0) {
      throw new AppError('invalid', `no Table Schema file found under ${dir}`, {
        hint: 'name a directory holding one JSON Table Schema per table (searched recursively)',
      });
    }
    const classifier = await this.sensitivity();
    const tables: repo.ClassifiedTable[] = read.tables.map((t) => ({
      ...t,
      columns: t.columns.map((c, i) => {
        const d = classifier.classify(t.name, c);
        return { ...c, position: i + 1, sensitivity: d.sensitivity, sensitivityReason: d.reason, sensitivityRule: d.rule };
      }),
    }));
    const title = options.title ?? read.title ?? options.dataset;
    const description = options.description ?? read.description ?? '';
    const contentSha256 = createHash('sha256')
      .update(JSON.stringify({ title, description, tables, nomenclatures: read.nomenclatures }))
      .digest('hex');
    const counts = {
      dataset: options.dataset,
      tables: tables.length,
      columns: tables.reduce((n, t) => n + t.columns.length, 0),
      nomenclatures: read.nomenclatures.length,
      codes: read.nomenclatures.reduce((n, x) => n + (x.codes?.length ?? 0), 0),
      contentSha256,
    };
    if ((await repo.datasetHash(this.#db, options.dataset)) === contentSha256) return { ...counts, changed: false };
    const draft: AuditDraft = {
      actor: options.actor,
      action: 'catalog.import',
      target: `catalog:dataset:${options.dataset}`,
      ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
      details: { tables: counts.tables, columns: counts.columns, nomenclatures: counts.nomenclatures, codes: counts.codes, contentSha256 },
    };
    await this.#audit.transaction(draft, (tx) =>
      repo.replaceDataset(tx, {
        name: options.dataset,
        title,
        description,
        // the directory's name only: the public catalogue shows it, and a server path reveals the host's layout
        source: repo.sourceLabel(resolve(dir)),
        contentSha256,
        tables,
        nomenclatures: read.nomenclatures,
      }),
    );
    return { ...counts, changed: true };
  }

  /** Imports the SNDS description shipped in schemas/snds/ as dataset `snds`. */
  async importBuiltin(actor: CatalogActor, requestId?: string): Promise<ImportResult> {
    return this.importDirectory(this.#builtinDir, {
      dataset: BUILTIN_DATASET,
      actor,
      ...(requestId === undefined ? {} : { requestId }),
    });
  }

  /** Removes a dataset and its tables and columns (audited as `catalog.remove`). */
  async removeDataset(name: string, actor: CatalogActor, requestId?: string): Promise<void> {
    await this.#requireDataset(name);
    await this.#audit.transaction(
      { actor, action: 'catalog.remove', target: `catalog:dataset:${name}`, ...(requestId === undefined ? {} : { requestId }) },
      (tx) => repo.deleteDataset(tx, name),
    );
  }

  listDatasets(): Promise<CatalogDatasetSummary[]> {
    return repo.listDatasets(this.#db);
  }

  /** A dataset and the list of its tables; `not_found` if unknown. */
  async getDataset(name: string): Promise<CatalogDataset> {
    const d = await this.#requireDataset(name);
    return { ...d, tables: await repo.listTables(this.#db, name) };
  }

  /** Every table of a dataset with its columns (in schema order), in `getDataset` order: what ingestion checks a delivery against. */
  async getTables(dataset: string): Promise<CatalogTable[]> {
    await this.#requireDataset(dataset);
    return repo.getTables(this.#db, dataset);
  }

  /** A table with its columns in schema order; the name matches case-insensitively. */
  async getTable(dataset: string, table: string): Promise<CatalogTable> {
    await this.#requireDataset(dataset);
    const resolved = await repo.resolveTableName(this.#db, dataset, table);
    const t = resolved === null ? null : await repo.getTable(this.#db, dataset, resolved);
    if (t === null) {
      const similar = await repo.similarTableNames(this.#db, dataset, table);
      throw new AppError('not_found', `dataset ${dataset} has no table ${table}`, {
        hint: `list its tables with \`enclave catalog show ${dataset}\` or GET /api/v1/catalog/datasets/${dataset}, or search with \`enclave catalog search ${table}\``,
        details: { dataset, table, ...(similar.length > 0 ? { similar } : {}) },
      });
    }
    return t;
  }

  /** Datasets, tables, columns and nomenclatures whose name or description holds every word. */
  search(query: string, options: { readonly limit?: number } = {}): Promise<SearchHit[]> {
    return repo.search(this.#db, query, clampLimit(options.limit, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT));
  }

  listNomenclatures(): Promise<NomenclatureSummary[]> {
    return repo.listNomenclatures(this.#db);
  }

  /** One page of a nomenclature's codes (default 100, at most 1,000), optionally filtered. */
  async getNomenclature(
    name: string,
    page: { readonly limit?: number; readonly offset?: number; readonly q?: string } = {},
  ): Promise<NomenclaturePage> {
    const n = await this.#requireNomenclature(name);
    const limit = clampLimit(page.limit, CODES_DEFAULT_LIMIT, CODES_MAX_LIMIT);
    const offset = Math.max(0, Math.trunc(page.offset ?? 0));
    const codes = await repo.nomenclatureCodes(this.#db, name, { limit, offset, ...(page.q === undefined ? {} : { filter: page.q }) });
    return { ...n, limit, offset, codes };
  }

  /**
   * Which of `codes` belong to the nomenclature, in bulk (for ingestion's membership checks).
   * @example
   *   const ok = await catalog.nomenclatureContains('IR_DPT_V', ['075', '999']); // Set {'075'}
   */
  async nomenclatureContains(name: string, codes: readonly string[]): Promise<Set<string>> {
    await this.#requireNomenclature(name);
    return repo.existingCodes(this.#db, name, codes);
  }

  /** Every code of a nomenclature, for checking many values locally. */
  async nomenclatureCodes(name: string): Promise<Set<string>> {
    await this.#requireNomenclature(name);
    return repo.allCodes(this.#db, name);
  }

  async #requireDataset(name: string): Promise<CatalogDatasetSummary> {
    const d = await repo.findDataset(this.#db, name);
    if (d === null) {
      throw new AppError('not_found', `no dataset named ${name} in the catalog`, { hint: FIND_DATASETS_HINT, details: { dataset: name } });
    }
    return d;
  }

  async #requireNomenclature(name: string) {
    const n = await repo.findNomenclature(this.#db, name);
    if (n === null) {
      throw new AppError('not_found', `no nomenclature named ${name} in the catalog`, {
        hint: 'find nomenclatures with `enclave catalog search <word>` or GET /api/v1/catalog/search?q=<word>',
        details: { nomenclature: name },
      });
    }
    return n;
  }
}

/**
 * First start: imports the built-in SNDS description unless the catalog already holds it
 * unchanged (so restarting records nothing).
 */
export async function importBuiltinCatalog(catalog: CatalogService, actor: CatalogActor): Promise<ImportResult> {
  return catalog.importBuiltin(actor);
}
