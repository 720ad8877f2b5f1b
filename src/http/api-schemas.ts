/**
 * The JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of what the API returns and accepts,
 * published as the OpenAPI document's `components.schemas`. Routes point at them with `ref`; the
 * portal's API types are generated from them (scripts/openapi-types.ts → web/src/api/generated.ts),
 * and a test validates real responses against them (src/http/openapi.test.ts), so neither
 * the portal nor this document can drift from what the server sends.
 *
 * Enumerations come from the domains' own tables (statuses, actions, roles, sensitivities).
 */
import { REASON_CODES, REQUEST_ACTION_NAMES, REQUEST_STATUSES, VOTE_DECISIONS } from '../airlock/index.ts';
import { COLUMN_ROLES, OUTPUT_KINDS, RULE_IDS } from '../airlock/rules/index.ts';
import { SENSITIVITIES } from '../catalog/index.ts';
import { ACTION_NAMES, AMENDMENT_ACTION_NAMES, AMENDMENT_STATUSES, PROJECT_STATUSES } from '../governance/index.ts';
import { PLATFORM_ROLES } from '../identity/index.ts';
import { ENGINE_NAMES } from '../workspace/index.ts';

export type JsonSchema = Readonly<Record<string, unknown>>;

/** A reference to a component schema (checked against the names below at compile time). */
export const ref = (name: SchemaName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** `{ key: Item[] }`: the shape of the API's lists. */
export const listOf = (key: string, item: SchemaName): JsonSchema => ({ type: 'object', required: [key], properties: { [key]: { type: 'array', items: ref(item) } } });

const str: JsonSchema = { type: 'string' };
const int: JsonSchema = { type: 'integer' };
const bool: JsonSchema = { type: 'boolean' };
const dateTime: JsonSchema = { type: 'string', format: 'date-time' };
const nullable = (s: JsonSchema): JsonSchema => ({ anyOf: [s, { type: 'null' }] });
const strOrNull: JsonSchema = { type: ['string', 'null'] };
const arrayOf = (items: JsonSchema): JsonSchema => ({ type: 'array', items });
const strings = arrayOf(str);
/** An object whose listed properties are all present. */
const object = (properties: Readonly<Record<string, JsonSchema>>, optional: readonly string[] = []): JsonSchema => ({
  type: 'object',
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  properties,
});
const years = object({ from: int, to: int });
const scope = arrayOf(object({ dataset: str, tables: arrayOf(object({ table: str, columns: strings })) }));

const schemas = {
  Problem: object({ type: str, title: str, status: int, detail: str, code: str, hint: str, requestId: str, details: { type: 'object' } }, ['hint', 'requestId', 'details']),

  // catalogue (src/catalog/types.ts)
  Sensitivity: { type: 'string', enum: [...SENSITIVITIES] },
  ForeignKey: object({ fields: strings, reference: object({ resource: str, fields: strings }) }),
  Column: object({
    position: int, name: str, type: str, description: str,
    nomenclature: strOrNull, length: strOrNull, format: strOrNull, constraints: { type: 'object' },
    sensitivity: { $ref: '#/components/schemas/Sensitivity' }, sensitivityReason: str, sensitivityRule: str,
  }),
  TableSummary: object({ dataset: str, name: str, title: str, product: str, columnCount: int, primaryKey: strings, foreignKeys: arrayOf({ $ref: '#/components/schemas/ForeignKey' }) }),
  Table: object({
    dataset: str, name: str, title: str, description: str, product: str, primaryKey: strings,
    foreignKeys: arrayOf({ $ref: '#/components/schemas/ForeignKey' }), enclave: { type: ['object', 'null'] }, sourceFile: str,
    columns: arrayOf({ $ref: '#/components/schemas/Column' }),
  }),
  DatasetSummary: object({ name: str, title: str, description: str, source: str, tableCount: int, columnCount: int, importedAt: dateTime, contentSha256: str }),
  Dataset: {
    allOf: [{ $ref: '#/components/schemas/DatasetSummary' }, object({ tables: arrayOf({ $ref: '#/components/schemas/TableSummary' }) })],
  },
  SearchHit: {
    oneOf: [
      object({ kind: { const: 'dataset' }, dataset: str, title: str, description: str }),
      object({ kind: { const: 'table' }, dataset: str, table: str, title: str, description: str }),
      object({ kind: { const: 'column' }, dataset: str, table: str, column: str, type: str, description: str, sensitivity: { $ref: '#/components/schemas/Sensitivity' } }),
      object({ kind: { const: 'nomenclature' }, nomenclature: str, title: str, codeCount: int }),
    ],
  },
  NomenclatureSummary: object({ name: str, dataset: strOrNull, title: str, description: str, source: str, codeCount: int, codesAvailable: bool }),
  NomenclatureCode: object({ code: str, label: strOrNull }),
  NomenclaturePage: {
    allOf: [
      { $ref: '#/components/schemas/NomenclatureSummary' },
      object({ codeField: str, labelField: strOrNull, limit: int, offset: int, codes: arrayOf({ $ref: '#/components/schemas/NomenclatureCode' }) }),
    ],
  },

  // identity
  Role: { type: 'string', enum: [...PLATFORM_ROLES] },
  Me: object({
    person: object({ id: str, issuer: str, subject: str, displayName: str, email: strOrNull, organisation: str, roles: arrayOf({ $ref: '#/components/schemas/Role' }), createdAt: dateTime }),
    roles: arrayOf({ $ref: '#/components/schemas/Role' }),
    via: { type: 'string', enum: ['session', 'token'] },
    projectScope: strOrNull,
    csrfToken: strOrNull,
  }),
  ApiToken: object({ id: str, personId: str, projectId: str, label: str, createdAt: dateTime, expiresAt: dateTime, revokedAt: nullable(dateTime) }),
  NewApiToken: object({ id: str, token: { type: 'string', description: 'The secret, shown this once' }, expiresAt: dateTime }),

  // governance (src/governance/types.ts, service.ts)
  ProjectStatus: { type: 'string', enum: [...PROJECT_STATUSES] },
  ActionName: { type: 'string', enum: [...ACTION_NAMES] },
  AmendmentStatus: { type: 'string', enum: [...AMENDMENT_STATUSES] },
  AmendmentActionName: { type: 'string', enum: [...AMENDMENT_ACTION_NAMES] },
  ProjectMember: object({ personId: str, role: { type: 'string', enum: ['principal_investigator', 'member'] } }),
  Project: object({
    id: str, status: { $ref: '#/components/schemas/ProjectStatus' }, title: str, organisation: str, createdBy: str, createdAt: dateTime, updatedAt: dateTime,
    currentVersion: int, members: arrayOf({ $ref: '#/components/schemas/ProjectMember' }),
  }),
  Application: object({
    title: str, organisation: str, purpose: str, publicInterest: str,
    legalBasis: object({ kind: { type: 'string', enum: ['cnil_authorisation', 'reference_methodology'] }, reference: str }),
    ethicsOpinionReference: strOrNull, funding: str,
    team: arrayOf(object({ name: str, role: str, organisation: str })),
    requestedScope: object({ datasets: scope, years, population: str, justification: str }),
    potentialIdentifierJustification: strOrNull,
  }, ['potentialIdentifierJustification']),
  ApplicationVersion: object({ projectId: str, version: int, content: { $ref: '#/components/schemas/Application' }, createdBy: str, createdAt: dateTime }),
  Review: object({
    id: str, applicationVersion: int, step: str, reviewerId: str, decision: { type: 'string', enum: ['approve', 'return', 'reject'] },
    comment: str, reference: strOrNull, permitVersion: { type: ['integer', 'null'] }, amendmentId: strOrNull, createdAt: dateTime,
  }),
  PermitDocument: object({
    schemaVersion: { const: 1 }, projectId: str, title: str, datasets: scope, years,
    population: object({ description: str, criteria: arrayOf(object({ column: str, op: { type: 'string', enum: ['in', 'not_in', 'between'] }, values: arrayOf({ type: ['string', 'number'] }) })) }),
    members: arrayOf({ $ref: '#/components/schemas/ProjectMember' }),
    tools: arrayOf({ type: 'string', enum: ['web_sql', 'database_protocol'] }),
    disclosure: object({ minimumCellCount: int, roundingBase: int, dominance: object({ n: int, k: { type: 'number' } }), checkersRequired: int }, ['roundingBase', 'dominance', 'checkersRequired']),
    potentialIdentifierException: object({ columns: strings, justification: str }),
    validFrom: str, validUntil: str,
  }, ['potentialIdentifierException']),
  Permit: object({
    projectId: str, version: int, document: { $ref: '#/components/schemas/PermitDocument' }, sha256: str,
    state: { type: 'string', enum: ['proposed', 'active', 'superseded', 'ended', 'lapsed'] }, createdBy: str, createdAt: dateTime,
    activatedAt: nullable(dateTime), amendmentId: strOrNull,
  }),
  Amendment: object({
    id: str, projectId: str, status: { $ref: '#/components/schemas/AmendmentStatus' }, applicationVersion: int, baseApplicationVersion: int, basePermitVersion: int,
    createdBy: str, createdAt: dateTime, updatedAt: dateTime, decidedAt: nullable(dateTime),
  }),
  PersonName: object({ displayName: str, organisation: str }),
  DiffEntry: { type: 'object', required: ['path'], properties: { path: { type: 'string', description: 'JSON pointer of the changed value' }, before: {}, after: {} } },
  ProjectDetail: object({
    project: { $ref: '#/components/schemas/Project' },
    application: { $ref: '#/components/schemas/ApplicationVersion' },
    reviews: arrayOf({ $ref: '#/components/schemas/Review' }),
    permits: arrayOf({ $ref: '#/components/schemas/Permit' }),
    actions: { ...arrayOf({ $ref: '#/components/schemas/ActionName' }), description: 'Actions this person may take now, from the same rules the API enforces (four eyes and the permit version voted on included)' },
    approvalsNeeded: { type: ['integer', 'null'] },
    amendment: nullable({ $ref: '#/components/schemas/Amendment' }),
    people: { type: 'object', additionalProperties: { $ref: '#/components/schemas/PersonName' }, description: 'Names of the people the detail mentions, by person id' },
  }),
  AmendmentDetail: object({
    amendment: { $ref: '#/components/schemas/Amendment' },
    application: { $ref: '#/components/schemas/ApplicationVersion' },
    changes: arrayOf({ $ref: '#/components/schemas/DiffEntry' }),
    reviews: arrayOf({ $ref: '#/components/schemas/Review' }),
    inForce: nullable({ $ref: '#/components/schemas/Permit' }),
    proposal: nullable({ $ref: '#/components/schemas/Permit' }),
    actions: { ...arrayOf({ $ref: '#/components/schemas/AmendmentActionName' }), description: 'Actions this person may take on the amendment now, from the same rules the API enforces' },
    approvalsNeeded: { type: ['integer', 'null'] },
  }),
  NotificationSettings: object({ email: bool }),
  Notification: object({ id: str, projectId: strOrNull, kind: str, message: str, createdAt: dateTime, readAt: nullable(dateTime) }),
  ApplicationDraft: object({
    id: str, content: { type: 'object', description: 'The wizard\'s state as left: may be incomplete; validated only when filed' }, step: int, createdAt: dateTime, updatedAt: dateTime,
  }),
  ProjectTrail: object({
    events: arrayOf(object({
      seq: int, time: dateTime, action: str, actorId: str, actorKind: { type: 'string', enum: ['person', 'service'] },
      outcome: { type: 'string', enum: ['success', 'failure', 'denied'] },
    })),
    people: { type: 'object', additionalProperties: { $ref: '#/components/schemas/PersonName' } },
  }),
  RegisterEntry: object({
    projectId: str, title: str, organisation: str, purposeSummary: str, datasets: strings, validFrom: str, validUntil: str,
    decision: { const: 'approved' }, decidedAt: nullable(dateTime), status: { $ref: '#/components/schemas/ProjectStatus' },
    versions: arrayOf(object({
      version: int, state: { type: 'string', enum: ['proposed', 'active', 'superseded', 'ended', 'lapsed'] }, activatedAt: nullable(dateTime),
      datasets: strings, validFrom: str, validUntil: str,
    })),
  }),

  // workspace (src/workspace/service.ts, extract-contract.ts; src/engine/workspace-port.ts)
  WorkspaceColumn: object({ name: str, type: str, description: str, sensitivity: str }, ['description', 'sensitivity']),
  WorkspaceTable: object({
    schema: { type: 'string', enum: ['extract', 'scratch'] }, name: str, kind: { type: 'string', enum: ['table', 'view'] }, rows: int,
    columns: arrayOf({ $ref: '#/components/schemas/WorkspaceColumn' }),
  }, ['rows']),
  ExtractManifest: object({
    projectId: str, permitId: str, permitVersion: int, generation: int, state: { type: 'string', enum: ['building', 'ready', 'failed', 'destroyed'] },
    keyId: str, rekeyKeyId: str, datasetVersions: arrayOf(object({ dataset: str, version: int })), years,
    tables: arrayOf(object({
      name: str, dataset: str, table: str,
      columns: arrayOf(object({ name: str, type: str, source: str, rekeyed: bool })),
      rows: int,
      files: arrayOf(object({ path: str, bytes: int, rows: int, sha256: str })),
    })),
    createdAt: dateTime, completedAt: nullable(dateTime), error: strOrNull,
    engine: { type: 'string', enum: ['duckdb', 'trino'], description: 'The engine this generation is built on (absent: built before projects had one; the deployment\'s default)' },
  }, ['engine']),
  WorkspaceInfo: object({
    projectId: str, status: { type: 'string', enum: ['ready', 'building', 'none', 'failed', 'closed'] },
    extract: nullable({ $ref: '#/components/schemas/ExtractManifest' }),
    tables: arrayOf({ $ref: '#/components/schemas/WorkspaceTable' }),
    quota: object({ usedBytes: int, quotaBytes: int }),
  }),
  ResultColumn: object({ name: str, type: { type: 'string', description: 'The engine\'s type name (BIGINT, VARCHAR, DATE…)' } }),
  CellValue: {
    anyOf: [str, { type: 'number' }, bool, { type: 'null' }, arrayOf({ $ref: '#/components/schemas/CellValue' }), { type: 'object', additionalProperties: { $ref: '#/components/schemas/CellValue' } }],
  },
  QueryStatus: { type: 'string', enum: ['running', 'succeeded', 'failed', 'refused', 'cancelled'] },
  Query: object({
    id: str, projectId: str, personId: str, sql: str, status: { $ref: '#/components/schemas/QueryStatus' }, startedAt: dateTime, finishedAt: nullable(dateTime),
    elapsedMs: { type: ['integer', 'null'] }, progress: { type: ['number', 'null'], description: 'Percent done (the engine\'s estimate) while running' },
    columns: nullable(arrayOf({ $ref: '#/components/schemas/ResultColumn' })), rowCount: { type: ['integer', 'null'] }, truncated: { type: ['boolean', 'null'] },
    sha256: strOrNull,
    saved: nullable(object({ name: str, kind: { type: 'string', enum: ['table', 'view'] }, rowCount: int, bytes: int }, ['rowCount', 'bytes'])),
    error: nullable(object({ code: str, message: str, hint: str, reason: str }, ['hint', 'reason'])),
  }),
  RowsPage: object({
    columns: arrayOf({ $ref: '#/components/schemas/ResultColumn' }),
    rows: arrayOf(arrayOf({ $ref: '#/components/schemas/CellValue' })),
    offset: int, rowCount: int,
  }),
  SavedQuery: object({ id: str, name: str, sql: str, description: str, personId: str, createdAt: dateTime }),
  // airlock (src/airlock/types.ts, rules/types.ts, workflow.ts)
  RequestStatus: { type: 'string', enum: [...REQUEST_STATUSES] },
  VoteDecision: { type: 'string', enum: [...VOTE_DECISIONS] },
  ApproveReason: { type: 'string', enum: [...REASON_CODES.approve], description: 'Reason codes an output checker may give with an approval' },
  ReturnReason: { type: 'string', enum: [...REASON_CODES.return], description: 'Reason codes an output checker may give when returning a request for changes' },
  RejectReason: { type: 'string', enum: [...REASON_CODES.reject], description: 'Reason codes an output checker may give with a rejection' },
  OutputKind: { type: 'string', enum: [...OUTPUT_KINDS] },
  ColumnRole: { type: 'string', enum: [...COLUMN_ROLES] },
  AirlockCellValue: { type: ['string', 'number', 'null'] },
  CellRef: object({ row: int, column: str, key: { type: 'object', additionalProperties: str, description: 'Dimension name → value of that row' } }),
  DisclosureFlag: object({
    rule: { type: 'string', enum: [...RULE_IDS] }, severity: { type: 'string', enum: ['block', 'review'] }, output: str,
    cell: nullable({ $ref: '#/components/schemas/CellRef' }), message: object({ en: str, fr: str }),
    details: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
    other: object({ projectId: str, releaseId: str, outputName: str, count: int, dimensions: { type: 'object', additionalProperties: str } }),
  }, ['other']),
  OutputTable: object({
    name: str, kind: { $ref: '#/components/schemas/OutputKind' }, columns: arrayOf(object({ name: str, role: { $ref: '#/components/schemas/ColumnRole' } })),
    rows: arrayOf(arrayOf({ $ref: '#/components/schemas/AirlockCellValue' })), population: str, datasetVersions: strings, sourceLines: arrayOf(int),
  }, ['population', 'datasetVersions', 'sourceLines']),
  OutputReport: object({
    name: str, kind: { $ref: '#/components/schemas/OutputKind' }, status: { type: 'string', enum: ['blocked', 'review', 'clean'] }, cellsChecked: int,
    flags: arrayOf({ $ref: '#/components/schemas/DisclosureFlag' }),
    safeVersion: object({
      method: { type: 'string', enum: ['suppression', 'rounding', 'withheld', 'unchanged'] }, table: nullable({ $ref: '#/components/schemas/OutputTable' }),
      primary: arrayOf({ $ref: '#/components/schemas/CellRef' }), secondary: arrayOf({ $ref: '#/components/schemas/CellRef' }),
      note: object({ en: str, fr: str }), requiresChecker: { const: true },
    }),
  }),
  DisclosureReport: object({
    reportVersion: { const: 1 },
    rules: object({
      minimumCount: int, dominance: object({ n: int, k: { type: 'number' } }), pRatio: { type: 'number' }, minimumResidualDf: int, minimumEventsPerStep: int,
      roundingBase: { type: ['integer', 'null'] }, identifierColumns: strings, quasiIdentifiers: arrayOf(object({ id: str, patterns: strings })), identifierCrossings: arrayOf(strings),
    }),
    outputs: arrayOf({ $ref: '#/components/schemas/OutputReport' }),
    summary: object({ status: { type: 'string', enum: ['blocked', 'review', 'clean'] }, blocks: int, reviews: int, cellsChecked: int }),
  }),
  ReleaseOutput: object({
    id: str, name: str, version: int, kind: { $ref: '#/components/schemas/OutputKind' },
    columns: arrayOf(object({ name: str, type: str, role: { $ref: '#/components/schemas/ColumnRole' }, description: str })),
    description: str, underlyingCounts: str, rowCount: int, sha256: { type: 'string', description: 'SHA-256 of the output\'s CSV file' },
    lineage: object({ sourceTable: str, queryId: strOrNull, querySha256: strOrNull, extractGeneration: { type: ['integer', 'null'] }, permitVersion: { type: ['integer', 'null'] }, datasetVersions: strings }),
    createdBy: str, updatedAt: dateTime,
    rows: { ...arrayOf(arrayOf({ $ref: '#/components/schemas/AirlockCellValue' })), description: 'The snapshot\'s rows, for members and checkers (absent in lists)' },
  }, ['rows']),
  ReleaseVote: object({
    id: str, reviewId: str, outputId: str, outputVersion: int, checkerId: str, decision: { $ref: '#/components/schemas/VoteDecision' },
    reasons: strings, comment: str, active: bool, createdAt: dateTime,
  }),
  Release: object({
    id: str, releasedAt: dateTime, bundleSha256: str, bundleBytes: int, signingKeyId: str,
    outputs: arrayOf(object({ outputId: str, name: str, sha256: str, bytes: int })),
  }),
  ReleaseRequest: object({
    id: str, projectId: str, version: int, status: { $ref: '#/components/schemas/RequestStatus' }, title: str, description: str, population: str,
    createdBy: str, createdAt: dateTime, updatedAt: dateTime, submittedAt: nullable(dateTime), decidedAt: nullable(dateTime), checkersRequired: int,
  }),
  RequestDetail: object({
    request: { $ref: '#/components/schemas/ReleaseRequest' },
    outputs: arrayOf({ $ref: '#/components/schemas/ReleaseOutput' }),
    report: { ...nullable({ $ref: '#/components/schemas/DisclosureReport' }), description: 'The disclosure report computed at the last submission (null in draft)' },
    reportSha256: strOrNull,
    votes: arrayOf({ $ref: '#/components/schemas/ReleaseVote' }),
    release: nullable({ $ref: '#/components/schemas/Release' }),
    actions: { ...arrayOf({ type: 'string', enum: [...REQUEST_ACTION_NAMES] }), description: 'What this caller may do now (from the same policy the API enforces)' },
    canDownload: bool,
    approvalsNeeded: { type: 'object', additionalProperties: int, description: 'Distinct approvals still needed per output' },
  }),
  RequestVersion: object({ version: int, status: { $ref: '#/components/schemas/RequestStatus' }, changedBy: str, changedAt: dateTime, content: {} }),
  SigningKey: object({ keyId: str, publicKey: str, algorithm: { const: 'Ed25519' } }),
  // operator (src/http/routes/datasets.ts; src/datasets/version.ts, src/ingest/ingest-service.ts, src/keys/key-service.ts, src/migrate/service.ts)
  VersionSummary: object({
    dataset: str, version: int, deliveryId: str, storeId: str, merkleRoot: str, files: int, bytes: int, rowsAccepted: int, rowsQuarantined: int, createdAt: dateTime,
    rows: { type: 'object', additionalProperties: { type: 'object', additionalProperties: int }, description: 'Accepted rows per table and year' },
  }),
  OperatorDataset: object({ name: str, title: str, tableCount: int, versionCount: int, latest: nullable({ $ref: '#/components/schemas/VersionSummary' }) }),
  Manifest: object({
    format: { const: 'enclave-manifest/1' }, dataset: str, version: int, deliveryId: str, createdAt: dateTime,
    files: arrayOf(object({ path: str, table: str, year: int, rows: int, bytes: int, sha256: str })),
    rows: { type: 'object', additionalProperties: { type: 'object', additionalProperties: int } },
    merkleRoot: { type: 'string', description: 'RFC 9162 Merkle root (hex) over the canonical JSON of files, in path order' },
  }),
  VersionDetail: { allOf: [{ $ref: '#/components/schemas/VersionSummary' }, object({ manifest: { $ref: '#/components/schemas/Manifest' } })] },
  QuarantineEntry: object({ file: str, table: str, line: int, column: str, rule: str, value: { type: 'string', description: 'The value\'s shape with its content removed (digits → 9, letters → A)' } }, ['table']),
  QuarantineReportPage: object({
    runId: str, total: int, byRule: { type: 'object', additionalProperties: int }, byFile: { type: 'object', additionalProperties: int },
    byTable: {
      type: 'object',
      additionalProperties: object({ table: str, files: strings, rowsDelivered: int, rowsLanded: int, rowsQuarantined: int, violations: { type: 'object', additionalProperties: { type: 'object', additionalProperties: int } } }),
    },
    relations: arrayOf(object({ relation: str, rowsChecked: int, orphans: int, matchesNothing: bool, orphansByFile: { type: 'object', additionalProperties: int } })),
    storedEntries: int, offset: int, limit: int, entries: arrayOf({ $ref: '#/components/schemas/QuarantineEntry' }),
  }),
  DataKey: object({
    id: str, scope: { type: 'string', enum: ['dataset', 'project'] }, scopeId: str, purpose: { type: 'string', enum: ['encryption', 'pseudonymisation'] },
    state: { type: 'string', enum: ['active', 'destroyed'] }, masterKeyId: strOrNull, createdAt: dateTime,
  }),
  // engine per project (src/workspace/engine-choice.ts)
  EngineName: { type: 'string', enum: [...ENGINE_NAMES] },
  ProjectEngine: object({
    projectId: str,
    engine: { $ref: '#/components/schemas/EngineName', description: 'The engine the project is on (its own choice, else the deployment\'s default)' },
    isDefault: { type: 'boolean', description: 'True when the project follows the deployment\'s default' },
    defaultEngine: { $ref: '#/components/schemas/EngineName' },
    available: arrayOf({ $ref: '#/components/schemas/EngineName' }),
    serving: { anyOf: [{ $ref: '#/components/schemas/EngineName' }, { type: 'null' }], description: 'The engine the workspace opens on now (its ready extract\'s); null when none is ready' },
    moving: { type: 'boolean', description: 'True while the extract is rebuilt on `engine` (the workspace still serves from `serving`)' },
    lastFailure: nullable({ $ref: '#/components/schemas/EngineFailure' }),
  }),
  EngineFailure: {
    ...object({
      engine: { $ref: '#/components/schemas/EngineName', description: 'The engine the project was moving to' },
      at: { ...dateTime, description: 'When the rebuild failed and the project was put back (project.engine.revert)' },
      reason: { type: 'string', description: 'Why, as the audit event says it' },
    }),
    description: 'The last move to another engine that failed; null when none failed since the last move that succeeded',
  },
  ProjectEngineListing: {
    allOf: [{ $ref: '#/components/schemas/ProjectEngine' }, object({ status: { $ref: '#/components/schemas/ProjectStatus' } })],
  },
  ProjectEnginesPage: object({ total: int, offset: int, limit: int, projects: arrayOf({ $ref: '#/components/schemas/ProjectEngineListing' }) }),
  ProjectEngineRequest: object({ engine: { $ref: '#/components/schemas/EngineName' } }),
  ProjectEngineChange: object({
    accepted: { type: 'boolean', description: 'True (202) when the extract is being rebuilt on the new engine; false (200) when nothing had to move' },
    state: { $ref: '#/components/schemas/ProjectEngine' },
  }),
  EngineCleanup: object({
    projectId: str, engine: { $ref: '#/components/schemas/EngineName' },
    state: { type: 'string', enum: ['owed', 'done'], description: 'owed until the engine confirmed the drop' },
    owedSince: dateTime, attempts: int, lastAttemptAt: nullable(dateTime), lastError: strOrNull, doneAt: nullable(dateTime),
  }),
  EngineCleanupPass: object({
    cleared: arrayOf(object({ projectId: str, engine: { $ref: '#/components/schemas/EngineName' } })),
    failed: arrayOf(object({ projectId: str, engine: { $ref: '#/components/schemas/EngineName' }, error: str })),
  }),
  MasterKeyRotation: object({ oldId: str, newId: str, rewrapped: int, backupNeeded: { const: true } }),
  MigrationStatus: object({
    id: str, from: str, to: str, datasets: strings, createdAt: dateTime, running: bool,
    files: object({ total: int, copied: int, pending: int, failed: int }), bytes: object({ total: int, copied: int }),
    live: nullable(object({ bytesDone: int, bytesTotal: int, filesDone: int, filesTotal: int, file: str }, ['file'])),
    checksFailed: int, verified: nullable(object({ ok: bool, at: dateTime })), lastError: strOrNull,
  }),
  // administration and the directory (src/identity/repository.ts, service.ts)
  Person: object({ id: str, issuer: str, subject: str, displayName: str, email: strOrNull, organisation: str, roles: arrayOf({ $ref: '#/components/schemas/Role' }), createdAt: dateTime }),
  DirectoryEntry: object({ id: str, displayName: str, organisation: str }),
  RoleChange: object({
    id: str, personId: str, role: { $ref: '#/components/schemas/Role' }, change: { type: 'string', enum: ['grant', 'revoke'] }, proposedBy: str, proposedAt: dateTime,
    state: { type: 'string', enum: ['pending', 'applied', 'rejected'] }, decidedBy: strOrNull, decidedAt: nullable(dateTime),
  }),
  RoleChangeResult: object({ change: { $ref: '#/components/schemas/RoleChange' }, person: { $ref: '#/components/schemas/Person' } }),
  DemoLoginChange: object({
    id: str, enabled: bool, proposedBy: str, proposedAt: dateTime, state: { type: 'string', enum: ['pending', 'applied', 'rejected'] }, decidedBy: strOrNull, decidedAt: nullable(dateTime),
  }),
  DemoLogins: object({
    enabled: bool, listed: { type: 'boolean', description: 'Whether the login page lists the demo people (ENCLAVE_DEMO_MODE)' },
    pending: nullable({ $ref: '#/components/schemas/DemoLoginChange' }),
  }),
  DemoLoginChangeResult: object({ change: { $ref: '#/components/schemas/DemoLoginChange' } }),
  // audit explorer (src/audit/event.ts, verify.ts; src/http/routes/audit.ts)
  JsonValue: {
    anyOf: [str, { type: 'number' }, bool, { type: 'null' }, arrayOf({ $ref: '#/components/schemas/JsonValue' }), { type: 'object', additionalProperties: { $ref: '#/components/schemas/JsonValue' } }],
  },
  AuditEvent: object({
    seq: { type: 'integer', description: 'Leaf index, from 0' }, time: dateTime, actor: object({ kind: { type: 'string', enum: ['person', 'service'] }, id: str }),
    action: str, target: str, requestId: strOrNull, outcome: { type: 'string', enum: ['success', 'failure', 'denied'] },
    details: { type: 'object', additionalProperties: { $ref: '#/components/schemas/JsonValue' } },
    v: { const: 1, description: 'Present (always 1) only on events written before migration 0014, whose leaf hashed this field' },
  }, ['v']),
  AuditLine: object({ index: int, leafHash: str, leafSig: str, event: { ...nullable({ $ref: '#/components/schemas/AuditEvent' }), description: 'Null when the event is archived (its content is in a signed archive file; its leaf hash stays)' } }),
  AuditEventsPage: object({ total: int, offset: int, limit: int, events: arrayOf({ $ref: '#/components/schemas/AuditLine' }) }),
  AuditKeys: object({
    log: { type: 'string', description: 'The log\'s C2SP signed-note verifier key' },
    witnesses: { ...strings, description: 'The witnesses\' tlog-cosignature verifier keys' },
  }),
  CheckpointSummary: object({ treeSize: int, rootHash: { type: 'string', description: 'Base64 SHA-256 Merkle root' }, createdAt: dateTime, note: { type: 'string', description: 'The C2SP signed note' } }),
  InclusionProof: object({ leafIndex: int, treeSize: int, leafHash: str, hashes: { ...strings, description: 'RFC 9162 audit path, base64, from the leaf level up' } }),
  ConsistencyProof: object({ size1: int, size2: int, hashes: { ...strings, description: 'RFC 9162 consistency proof, base64' } }),
} as const satisfies Record<string, JsonSchema>;

export type SchemaName = keyof typeof schemas;

/** Every component schema of the OpenAPI document, by name. */
export const API_SCHEMAS: Readonly<Record<SchemaName, JsonSchema>> = schemas;
