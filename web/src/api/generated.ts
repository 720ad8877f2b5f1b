/**
 * GENERATED FILE: do not edit. The Enclave API's types, generated from the server's OpenAPI
 * document (GET /api/v1/openapi.json) by scripts/openapi-types.ts: run `npm run openapi:types`
 * after changing a route or src/http/api-schemas.ts. scripts/openapi-types.test.ts fails when
 * this file differs from what the generator produces.
 */
/* eslint-disable */

export type ActionName = "submit" | "withdraw" | "accept_complete" | "return_incomplete" | "ethics_favourable" | "ethics_return" | "ethics_unfavourable" | "legal_approve" | "legal_return" | "legal_reject" | "committee_approve" | "committee_return" | "committee_reject" | "suspend" | "reinstate" | "revoke" | "close" | "expire";

/** The values of {@link ActionName}, in the server's order. */
export const ActionNameValues: readonly ActionName[] = ["submit","withdraw","accept_complete","return_incomplete","ethics_favourable","ethics_return","ethics_unfavourable","legal_approve","legal_return","legal_reject","committee_approve","committee_return","committee_reject","suspend","reinstate","revoke","close","expire"];

export type AirlockCellValue = string | number | null;

export type Amendment = {
  readonly id: string;
  readonly projectId: string;
  readonly status: AmendmentStatus;
  readonly applicationVersion: number;
  readonly baseApplicationVersion: number;
  readonly basePermitVersion: number;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly decidedAt: string | null;
};

export type AmendmentActionName = "submit" | "withdraw" | "accept_complete" | "return_incomplete" | "ethics_favourable" | "ethics_return" | "ethics_unfavourable" | "legal_approve" | "legal_return" | "legal_reject" | "committee_approve" | "committee_return" | "committee_reject";

/** The values of {@link AmendmentActionName}, in the server's order. */
export const AmendmentActionNameValues: readonly AmendmentActionName[] = ["submit","withdraw","accept_complete","return_incomplete","ethics_favourable","ethics_return","ethics_unfavourable","legal_approve","legal_return","legal_reject","committee_approve","committee_return","committee_reject"];

export type AmendmentDetail = {
  readonly amendment: Amendment;
  readonly application: ApplicationVersion;
  readonly changes: readonly DiffEntry[];
  readonly reviews: readonly Review[];
  readonly inForce: Permit | null;
  readonly proposal: Permit | null;
  /** Actions this person may take on the amendment now, from the same rules the API enforces */
  readonly actions: readonly AmendmentActionName[];
  readonly approvalsNeeded: number | null;
};

export type AmendmentStatus = "submitted" | "ethics_review" | "legal_review" | "committee_review" | "changes_requested" | "approved" | "rejected" | "withdrawn" | "lapsed";

/** The values of {@link AmendmentStatus}, in the server's order. */
export const AmendmentStatusValues: readonly AmendmentStatus[] = ["submitted","ethics_review","legal_review","committee_review","changes_requested","approved","rejected","withdrawn","lapsed"];

export type ApiToken = {
  readonly id: string;
  readonly personId: string;
  readonly projectId: string;
  readonly label: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
};

export type Application = {
  readonly title: string;
  readonly organisation: string;
  readonly purpose: string;
  readonly publicInterest: string;
  readonly legalBasis: {
    readonly kind: "cnil_authorisation" | "reference_methodology";
    readonly reference: string;
  };
  readonly ethicsOpinionReference: string | null;
  readonly funding: string;
  readonly team: readonly {
    readonly name: string;
    readonly role: string;
    readonly organisation: string;
  }[];
  readonly requestedScope: {
    readonly datasets: readonly {
      readonly dataset: string;
      readonly tables: readonly {
        readonly table: string;
        readonly columns: readonly string[];
      }[];
    }[];
    readonly years: {
      readonly from: number;
      readonly to: number;
    };
    readonly population: string;
    readonly justification: string;
  };
  readonly potentialIdentifierJustification?: string | null;
};

export type ApplicationDraft = {
  readonly id: string;
  /** The wizard's state as left: may be incomplete; validated only when filed */
  readonly content: { readonly [key: string]: unknown };
  readonly step: number;
  readonly createdAt: string;
  readonly updatedAt: string;
};

export type ApplicationVersion = {
  readonly projectId: string;
  readonly version: number;
  readonly content: Application;
  readonly createdBy: string;
  readonly createdAt: string;
};

/** Reason codes an output checker may give with an approval */
export type ApproveReason = "rules_clean" | "flags_reviewed_safe" | "context_sufficient" | "other";

/** The values of {@link ApproveReason}, in the server's order. */
export const ApproveReasonValues: readonly ApproveReason[] = ["rules_clean","flags_reviewed_safe","context_sufficient","other"];

export type AuditEvent = {
  /** Leaf index, from 0 */
  readonly seq: number;
  readonly time: string;
  readonly actor: {
    readonly kind: "person" | "service";
    readonly id: string;
  };
  readonly action: string;
  readonly target: string;
  readonly requestId: string | null;
  readonly outcome: "success" | "failure" | "denied";
  readonly details: { readonly [key: string]: JsonValue };
  /** Present (always 1) only on events written before migration 0014, whose leaf hashed this field */
  readonly v?: 1;
};

export type AuditEventsPage = {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly events: readonly AuditLine[];
};

export type AuditKeys = {
  /** The log's C2SP signed-note verifier key */
  readonly log: string;
  /** The witnesses' tlog-cosignature verifier keys */
  readonly witnesses: readonly string[];
};

export type AuditLine = {
  readonly index: number;
  readonly leafHash: string;
  readonly leafSig: string;
  /** Null when the event is archived (its content is in a signed archive file; its leaf hash stays) */
  readonly event: AuditEvent | null;
};

export type CellRef = {
  readonly row: number;
  readonly column: string;
  /** Dimension name → value of that row */
  readonly key: { readonly [key: string]: string };
};

export type CellValue = string | number | boolean | null | (readonly CellValue[]) | { readonly [key: string]: CellValue };

export type CheckpointSummary = {
  readonly treeSize: number;
  /** Base64 SHA-256 Merkle root */
  readonly rootHash: string;
  readonly createdAt: string;
  /** The C2SP signed note */
  readonly note: string;
};

export type Column = {
  readonly position: number;
  readonly name: string;
  readonly type: string;
  readonly description: string;
  readonly nomenclature: string | null;
  readonly length: string | null;
  readonly format: string | null;
  readonly constraints: { readonly [key: string]: unknown };
  readonly sensitivity: Sensitivity;
  readonly sensitivityReason: string;
  readonly sensitivityRule: string;
};

export type ColumnRole = "dimension" | "count" | "magnitude" | "contributors" | "top1" | "top2" | "numerator" | "denominator" | "coefficient" | "std_error" | "df_residual" | "time" | "at_risk" | "events" | "censored" | "identifier" | "other";

/** The values of {@link ColumnRole}, in the server's order. */
export const ColumnRoleValues: readonly ColumnRole[] = ["dimension","count","magnitude","contributors","top1","top2","numerator","denominator","coefficient","std_error","df_residual","time","at_risk","events","censored","identifier","other"];

export type ConsistencyProof = {
  readonly size1: number;
  readonly size2: number;
  /** RFC 9162 consistency proof, base64 */
  readonly hashes: readonly string[];
};

export type DataKey = {
  readonly id: string;
  readonly scope: "dataset" | "project";
  readonly scopeId: string;
  readonly purpose: "encryption" | "pseudonymisation";
  readonly state: "active" | "destroyed";
  readonly masterKeyId: string | null;
  readonly createdAt: string;
};

export type Dataset = DatasetSummary & {
  readonly tables: readonly TableSummary[];
};

export type DatasetSummary = {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly tableCount: number;
  readonly columnCount: number;
  readonly importedAt: string;
  readonly contentSha256: string;
};

export type DemoLoginChange = {
  readonly id: string;
  readonly enabled: boolean;
  readonly proposedBy: string;
  readonly proposedAt: string;
  readonly state: "pending" | "applied" | "rejected";
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
};

export type DemoLoginChangeResult = {
  readonly change: DemoLoginChange;
};

export type DemoLogins = {
  readonly enabled: boolean;
  /** Whether the login page lists the demo people (ENCLAVE_DEMO_MODE) */
  readonly listed: boolean;
  readonly pending: DemoLoginChange | null;
};

export type DiffEntry = {
  /** JSON pointer of the changed value */
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
};

export type DirectoryEntry = {
  readonly id: string;
  readonly displayName: string;
  readonly organisation: string;
};

export type DisclosureFlag = {
  readonly rule: "minimum_count" | "secondary_disclosure" | "dominance" | "p_ratio" | "missing_contributors" | "zero" | "full_cell" | "row_level" | "identifier" | "identifier_crossing" | "residual_df" | "survival_events" | "differencing" | "request_differencing";
  readonly severity: "block" | "review";
  readonly output: string;
  readonly cell: CellRef | null;
  readonly message: {
    readonly en: string;
    readonly fr: string;
  };
  readonly details: { readonly [key: string]: string | number };
  readonly other?: {
    readonly projectId: string;
    readonly releaseId: string;
    readonly outputName: string;
    readonly count: number;
    readonly dimensions: { readonly [key: string]: string };
  };
};

export type DisclosureReport = {
  readonly reportVersion: 1;
  readonly rules: {
    readonly minimumCount: number;
    readonly dominance: {
      readonly n: number;
      readonly k: number;
    };
    readonly pRatio: number;
    readonly minimumResidualDf: number;
    readonly minimumEventsPerStep: number;
    readonly roundingBase: number | null;
    readonly identifierColumns: readonly string[];
    readonly quasiIdentifiers: readonly {
      readonly id: string;
      readonly patterns: readonly string[];
    }[];
    readonly identifierCrossings: readonly (readonly string[])[];
  };
  readonly outputs: readonly OutputReport[];
  readonly summary: {
    readonly status: "blocked" | "review" | "clean";
    readonly blocks: number;
    readonly reviews: number;
    readonly cellsChecked: number;
  };
};

export type EngineCleanup = {
  readonly projectId: string;
  readonly engine: EngineName;
  /** owed until the engine confirmed the drop */
  readonly state: "owed" | "done";
  readonly owedSince: string;
  readonly attempts: number;
  readonly lastAttemptAt: string | null;
  readonly lastError: string | null;
  readonly doneAt: string | null;
};

export type EngineCleanupPass = {
  readonly cleared: readonly {
    readonly projectId: string;
    readonly engine: EngineName;
  }[];
  readonly failed: readonly {
    readonly projectId: string;
    readonly engine: EngineName;
    readonly error: string;
  }[];
};

/** The last move to another engine that failed; null when none failed since the last move that succeeded */
export type EngineFailure = {
  /** The engine the project was moving to */
  readonly engine: EngineName;
  /** When the rebuild failed and the project was put back (project.engine.revert) */
  readonly at: string;
  /** Why, as the audit event says it */
  readonly reason: string;
};

export type EngineName = "duckdb" | "trino";

/** The values of {@link EngineName}, in the server's order. */
export const EngineNameValues: readonly EngineName[] = ["duckdb","trino"];

export type ExtractManifest = {
  readonly projectId: string;
  readonly permitId: string;
  readonly permitVersion: number;
  readonly generation: number;
  readonly state: "building" | "ready" | "failed" | "destroyed";
  readonly keyId: string;
  readonly rekeyKeyId: string;
  readonly datasetVersions: readonly {
    readonly dataset: string;
    readonly version: number;
  }[];
  readonly years: {
    readonly from: number;
    readonly to: number;
  };
  readonly tables: readonly {
    readonly name: string;
    readonly dataset: string;
    readonly table: string;
    readonly columns: readonly {
      readonly name: string;
      readonly type: string;
      readonly source: string;
      readonly rekeyed: boolean;
    }[];
    readonly rows: number;
    readonly files: readonly {
      readonly path: string;
      readonly bytes: number;
      readonly rows: number;
      readonly sha256: string;
    }[];
  }[];
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly error: string | null;
  /** The engine this generation is built on (absent: built before projects had one; the deployment's default) */
  readonly engine?: "duckdb" | "trino";
};

export type ForeignKey = {
  readonly fields: readonly string[];
  readonly reference: {
    readonly resource: string;
    readonly fields: readonly string[];
  };
};

export type InclusionProof = {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly leafHash: string;
  /** RFC 9162 audit path, base64, from the leaf level up */
  readonly hashes: readonly string[];
};

export type JsonValue = string | number | boolean | null | (readonly JsonValue[]) | { readonly [key: string]: JsonValue };

export type Manifest = {
  readonly format: "enclave-manifest/1";
  readonly dataset: string;
  readonly version: number;
  readonly deliveryId: string;
  readonly createdAt: string;
  readonly files: readonly {
    readonly path: string;
    readonly table: string;
    readonly year: number;
    readonly rows: number;
    readonly bytes: number;
    readonly sha256: string;
  }[];
  readonly rows: { readonly [key: string]: { readonly [key: string]: number } };
  /** RFC 9162 Merkle root (hex) over the canonical JSON of files, in path order */
  readonly merkleRoot: string;
};

export type MasterKeyRotation = {
  readonly oldId: string;
  readonly newId: string;
  readonly rewrapped: number;
  readonly backupNeeded: true;
};

export type Me = {
  readonly person: {
    readonly id: string;
    readonly issuer: string;
    readonly subject: string;
    readonly displayName: string;
    readonly email: string | null;
    readonly organisation: string;
    readonly roles: readonly Role[];
    readonly createdAt: string;
  };
  readonly roles: readonly Role[];
  readonly via: "session" | "token";
  readonly projectScope: string | null;
  readonly csrfToken: string | null;
};

export type MigrationStatus = {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly datasets: readonly string[];
  readonly createdAt: string;
  readonly running: boolean;
  readonly files: {
    readonly total: number;
    readonly copied: number;
    readonly pending: number;
    readonly failed: number;
  };
  readonly bytes: {
    readonly total: number;
    readonly copied: number;
  };
  readonly live: {
    readonly bytesDone: number;
    readonly bytesTotal: number;
    readonly filesDone: number;
    readonly filesTotal: number;
    readonly file?: string;
  } | null;
  readonly checksFailed: number;
  readonly verified: {
    readonly ok: boolean;
    readonly at: string;
  } | null;
  readonly lastError: string | null;
};

export type NewApiToken = {
  readonly id: string;
  /** The secret, shown this once */
  readonly token: string;
  readonly expiresAt: string;
};

export type NomenclatureCode = {
  readonly code: string;
  readonly label: string | null;
};

export type NomenclaturePage = NomenclatureSummary & {
  readonly codeField: string;
  readonly labelField: string | null;
  readonly limit: number;
  readonly offset: number;
  readonly codes: readonly NomenclatureCode[];
};

export type NomenclatureSummary = {
  readonly name: string;
  readonly dataset: string | null;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly codeCount: number;
  readonly codesAvailable: boolean;
};

export type Notification = {
  readonly id: string;
  readonly projectId: string | null;
  readonly kind: string;
  readonly message: string;
  readonly createdAt: string;
  readonly readAt: string | null;
};

export type NotificationSettings = {
  readonly email: boolean;
};

export type OperatorDataset = {
  readonly name: string;
  readonly title: string;
  readonly tableCount: number;
  readonly versionCount: number;
  readonly latest: VersionSummary | null;
};

export type OutputKind = "frequency" | "magnitude" | "rate" | "model" | "survival" | "rows";

/** The values of {@link OutputKind}, in the server's order. */
export const OutputKindValues: readonly OutputKind[] = ["frequency","magnitude","rate","model","survival","rows"];

export type OutputReport = {
  readonly name: string;
  readonly kind: OutputKind;
  readonly status: "blocked" | "review" | "clean";
  readonly cellsChecked: number;
  readonly flags: readonly DisclosureFlag[];
  readonly safeVersion: {
    readonly method: "suppression" | "rounding" | "withheld" | "unchanged";
    readonly table: OutputTable | null;
    readonly primary: readonly CellRef[];
    readonly secondary: readonly CellRef[];
    readonly note: {
      readonly en: string;
      readonly fr: string;
    };
    readonly requiresChecker: true;
  };
};

export type OutputTable = {
  readonly name: string;
  readonly kind: OutputKind;
  readonly columns: readonly {
    readonly name: string;
    readonly role: ColumnRole;
  }[];
  readonly rows: readonly (readonly AirlockCellValue[])[];
  readonly population?: string;
  readonly datasetVersions?: readonly string[];
  readonly sourceLines?: readonly number[];
};

export type Permit = {
  readonly projectId: string;
  readonly version: number;
  readonly document: PermitDocument;
  readonly sha256: string;
  readonly state: "proposed" | "active" | "superseded" | "ended" | "lapsed";
  readonly createdBy: string;
  readonly createdAt: string;
  readonly activatedAt: string | null;
  readonly amendmentId: string | null;
};

export type PermitDocument = {
  readonly schemaVersion: 1;
  readonly projectId: string;
  readonly title: string;
  readonly datasets: readonly {
    readonly dataset: string;
    readonly tables: readonly {
      readonly table: string;
      readonly columns: readonly string[];
    }[];
  }[];
  readonly years: {
    readonly from: number;
    readonly to: number;
  };
  readonly population: {
    readonly description: string;
    readonly criteria: readonly {
      readonly column: string;
      readonly op: "in" | "not_in" | "between";
      readonly values: readonly (string | number)[];
    }[];
  };
  readonly members: readonly ProjectMember[];
  readonly tools: readonly ("web_sql" | "database_protocol")[];
  readonly disclosure: {
    readonly minimumCellCount: number;
    readonly roundingBase?: number;
    readonly dominance?: {
      readonly n: number;
      readonly k: number;
    };
    readonly checkersRequired?: number;
  };
  readonly potentialIdentifierException?: {
    readonly columns: readonly string[];
    readonly justification: string;
  };
  readonly validFrom: string;
  readonly validUntil: string;
};

export type Person = {
  readonly id: string;
  readonly issuer: string;
  readonly subject: string;
  readonly displayName: string;
  readonly email: string | null;
  readonly organisation: string;
  readonly roles: readonly Role[];
  readonly createdAt: string;
};

export type PersonName = {
  readonly displayName: string;
  readonly organisation: string;
};

export type Problem = {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly hint?: string;
  readonly requestId?: string;
  readonly details?: { readonly [key: string]: unknown };
};

export type Project = {
  readonly id: string;
  readonly status: ProjectStatus;
  readonly title: string;
  readonly organisation: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly currentVersion: number;
  readonly members: readonly ProjectMember[];
};

export type ProjectDetail = {
  readonly project: Project;
  readonly application: ApplicationVersion;
  readonly reviews: readonly Review[];
  readonly permits: readonly Permit[];
  /** Actions this person may take now, from the same rules the API enforces (four eyes and the permit version voted on included) */
  readonly actions: readonly ActionName[];
  readonly approvalsNeeded: number | null;
  readonly amendment: Amendment | null;
  /** Names of the people the detail mentions, by person id */
  readonly people: { readonly [key: string]: PersonName };
};

export type ProjectEngine = {
  readonly projectId: string;
  /** The engine the project is on (its own choice, else the deployment's default) */
  readonly engine: EngineName;
  /** True when the project follows the deployment's default */
  readonly isDefault: boolean;
  readonly defaultEngine: EngineName;
  readonly available: readonly EngineName[];
  /** The engine the workspace opens on now (its ready extract's); null when none is ready */
  readonly serving: EngineName | null;
  /** True while the extract is rebuilt on `engine` (the workspace still serves from `serving`) */
  readonly moving: boolean;
  readonly lastFailure: EngineFailure | null;
};

export type ProjectEngineChange = {
  /** True (202) when the extract is being rebuilt on the new engine; false (200) when nothing had to move */
  readonly accepted: boolean;
  readonly state: ProjectEngine;
};

export type ProjectEngineListing = ProjectEngine & {
  readonly status: ProjectStatus;
};

export type ProjectEngineRequest = {
  readonly engine: EngineName;
};

export type ProjectEnginesPage = {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly projects: readonly ProjectEngineListing[];
};

export type ProjectMember = {
  readonly personId: string;
  readonly role: "principal_investigator" | "member";
};

export type ProjectStatus = "draft" | "submitted" | "ethics_review" | "legal_review" | "committee_review" | "changes_requested" | "active" | "suspended" | "expired" | "closed" | "revoked" | "rejected" | "withdrawn";

/** The values of {@link ProjectStatus}, in the server's order. */
export const ProjectStatusValues: readonly ProjectStatus[] = ["draft","submitted","ethics_review","legal_review","committee_review","changes_requested","active","suspended","expired","closed","revoked","rejected","withdrawn"];

export type ProjectTrail = {
  readonly events: readonly {
    readonly seq: number;
    readonly time: string;
    readonly action: string;
    readonly actorId: string;
    readonly actorKind: "person" | "service";
    readonly outcome: "success" | "failure" | "denied";
  }[];
  readonly people: { readonly [key: string]: PersonName };
};

export type QuarantineEntry = {
  readonly file: string;
  readonly table?: string;
  readonly line: number;
  readonly column: string;
  readonly rule: string;
  /** The value's shape with its content removed (digits → 9, letters → A) */
  readonly value: string;
};

export type QuarantineReportPage = {
  readonly runId: string;
  readonly total: number;
  readonly byRule: { readonly [key: string]: number };
  readonly byFile: { readonly [key: string]: number };
  readonly byTable: { readonly [key: string]: {
    readonly table: string;
    readonly files: readonly string[];
    readonly rowsDelivered: number;
    readonly rowsLanded: number;
    readonly rowsQuarantined: number;
    readonly violations: { readonly [key: string]: { readonly [key: string]: number } };
  } };
  readonly relations: readonly {
    readonly relation: string;
    readonly rowsChecked: number;
    readonly orphans: number;
    readonly matchesNothing: boolean;
    readonly orphansByFile: { readonly [key: string]: number };
  }[];
  readonly storedEntries: number;
  readonly offset: number;
  readonly limit: number;
  readonly entries: readonly QuarantineEntry[];
};

export type Query = {
  readonly id: string;
  readonly projectId: string;
  readonly personId: string;
  readonly sql: string;
  readonly status: QueryStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly elapsedMs: number | null;
  /** Percent done (the engine's estimate) while running */
  readonly progress: number | null;
  readonly columns: (readonly ResultColumn[]) | null;
  readonly rowCount: number | null;
  readonly truncated: boolean | null;
  readonly sha256: string | null;
  readonly saved: {
    readonly name: string;
    readonly kind: "table" | "view";
    readonly rowCount?: number;
    readonly bytes?: number;
  } | null;
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly hint?: string;
    readonly reason?: string;
  } | null;
};

export type QueryStatus = "running" | "succeeded" | "failed" | "refused" | "cancelled";

/** The values of {@link QueryStatus}, in the server's order. */
export const QueryStatusValues: readonly QueryStatus[] = ["running","succeeded","failed","refused","cancelled"];

export type RegisterEntry = {
  readonly projectId: string;
  readonly title: string;
  readonly organisation: string;
  readonly purposeSummary: string;
  readonly datasets: readonly string[];
  readonly validFrom: string;
  readonly validUntil: string;
  readonly decision: "approved";
  readonly decidedAt: string | null;
  readonly status: ProjectStatus;
  readonly versions: readonly {
    readonly version: number;
    readonly state: "proposed" | "active" | "superseded" | "ended" | "lapsed";
    readonly activatedAt: string | null;
    readonly datasets: readonly string[];
    readonly validFrom: string;
    readonly validUntil: string;
  }[];
};

/** Reason codes an output checker may give with a rejection */
export type RejectReason = "row_level_data" | "identifiers" | "identifier_crossing" | "differencing" | "not_in_permit_purpose" | "other";

/** The values of {@link RejectReason}, in the server's order. */
export const RejectReasonValues: readonly RejectReason[] = ["row_level_data","identifiers","identifier_crossing","differencing","not_in_permit_purpose","other"];

export type Release = {
  readonly id: string;
  readonly releasedAt: string;
  readonly bundleSha256: string;
  readonly bundleBytes: number;
  readonly signingKeyId: string;
  readonly outputs: readonly {
    readonly outputId: string;
    readonly name: string;
    readonly sha256: string;
    readonly bytes: number;
  }[];
};

export type ReleaseOutput = {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly kind: OutputKind;
  readonly columns: readonly {
    readonly name: string;
    readonly type: string;
    readonly role: ColumnRole;
    readonly description: string;
  }[];
  readonly description: string;
  readonly underlyingCounts: string;
  readonly rowCount: number;
  /** SHA-256 of the output's CSV file */
  readonly sha256: string;
  readonly lineage: {
    readonly sourceTable: string;
    readonly queryId: string | null;
    readonly querySha256: string | null;
    readonly extractGeneration: number | null;
    readonly permitVersion: number | null;
    readonly datasetVersions: readonly string[];
  };
  readonly createdBy: string;
  readonly updatedAt: string;
  /** The snapshot's rows, for members and checkers (absent in lists) */
  readonly rows?: readonly (readonly AirlockCellValue[])[];
};

export type ReleaseRequest = {
  readonly id: string;
  readonly projectId: string;
  readonly version: number;
  readonly status: RequestStatus;
  readonly title: string;
  readonly description: string;
  readonly population: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly submittedAt: string | null;
  readonly decidedAt: string | null;
  readonly checkersRequired: number;
};

export type ReleaseVote = {
  readonly id: string;
  readonly reviewId: string;
  readonly outputId: string;
  readonly outputVersion: number;
  readonly checkerId: string;
  readonly decision: VoteDecision;
  readonly reasons: readonly string[];
  readonly comment: string;
  readonly active: boolean;
  readonly createdAt: string;
};

export type RequestDetail = {
  readonly request: ReleaseRequest;
  readonly outputs: readonly ReleaseOutput[];
  /** The disclosure report computed at the last submission (null in draft) */
  readonly report: DisclosureReport | null;
  readonly reportSha256: string | null;
  readonly votes: readonly ReleaseVote[];
  readonly release: Release | null;
  /** What this caller may do now (from the same policy the API enforces) */
  readonly actions: readonly ("edit" | "submit" | "withdraw" | "review")[];
  readonly canDownload: boolean;
  /** Distinct approvals still needed per output */
  readonly approvalsNeeded: { readonly [key: string]: number };
};

export type RequestStatus = "draft" | "submitted" | "in_review" | "returned" | "released" | "rejected" | "withdrawn";

/** The values of {@link RequestStatus}, in the server's order. */
export const RequestStatusValues: readonly RequestStatus[] = ["draft","submitted","in_review","returned","released","rejected","withdrawn"];

export type RequestVersion = {
  readonly version: number;
  readonly status: RequestStatus;
  readonly changedBy: string;
  readonly changedAt: string;
  readonly content: unknown;
};

export type ResultColumn = {
  readonly name: string;
  /** The engine's type name (BIGINT, VARCHAR, DATE…) */
  readonly type: string;
};

/** Reason codes an output checker may give when returning a request for changes */
export type ReturnReason = "small_cells" | "secondary_disclosure" | "dominance" | "differencing" | "context_missing" | "underlying_counts_missing" | "apply_safe_version" | "other";

/** The values of {@link ReturnReason}, in the server's order. */
export const ReturnReasonValues: readonly ReturnReason[] = ["small_cells","secondary_disclosure","dominance","differencing","context_missing","underlying_counts_missing","apply_safe_version","other"];

export type Review = {
  readonly id: string;
  readonly applicationVersion: number;
  readonly step: string;
  readonly reviewerId: string;
  readonly decision: "approve" | "return" | "reject";
  readonly comment: string;
  readonly reference: string | null;
  readonly permitVersion: number | null;
  readonly amendmentId: string | null;
  readonly createdAt: string;
};

export type Role = "applicant" | "ethics_reviewer" | "legal_reviewer" | "access_committee" | "output_checker" | "operator" | "auditor" | "admin";

/** The values of {@link Role}, in the server's order. */
export const RoleValues: readonly Role[] = ["applicant","ethics_reviewer","legal_reviewer","access_committee","output_checker","operator","auditor","admin"];

export type RoleChange = {
  readonly id: string;
  readonly personId: string;
  readonly role: Role;
  readonly change: "grant" | "revoke";
  readonly proposedBy: string;
  readonly proposedAt: string;
  readonly state: "pending" | "applied" | "rejected";
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
};

export type RoleChangeResult = {
  readonly change: RoleChange;
  readonly person: Person;
};

export type RowsPage = {
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly (readonly CellValue[])[];
  readonly offset: number;
  readonly rowCount: number;
};

export type SavedQuery = {
  readonly id: string;
  readonly name: string;
  readonly sql: string;
  readonly description: string;
  readonly personId: string;
  readonly createdAt: string;
};

export type SearchHit = {
  readonly kind: "dataset";
  readonly dataset: string;
  readonly title: string;
  readonly description: string;
} | {
  readonly kind: "table";
  readonly dataset: string;
  readonly table: string;
  readonly title: string;
  readonly description: string;
} | {
  readonly kind: "column";
  readonly dataset: string;
  readonly table: string;
  readonly column: string;
  readonly type: string;
  readonly description: string;
  readonly sensitivity: Sensitivity;
} | {
  readonly kind: "nomenclature";
  readonly nomenclature: string;
  readonly title: string;
  readonly codeCount: number;
};

export type Sensitivity = "direct_identifier" | "pseudonym" | "potential_identifier" | "sensitive" | "other";

/** The values of {@link Sensitivity}, in the server's order. */
export const SensitivityValues: readonly Sensitivity[] = ["direct_identifier","pseudonym","potential_identifier","sensitive","other"];

export type SigningKey = {
  readonly keyId: string;
  readonly publicKey: string;
  readonly algorithm: "Ed25519";
};

export type Table = {
  readonly dataset: string;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly product: string;
  readonly primaryKey: readonly string[];
  readonly foreignKeys: readonly ForeignKey[];
  readonly enclave: { readonly [key: string]: unknown } | null;
  readonly sourceFile: string;
  readonly columns: readonly Column[];
};

export type TableSummary = {
  readonly dataset: string;
  readonly name: string;
  readonly title: string;
  readonly product: string;
  readonly columnCount: number;
  readonly primaryKey: readonly string[];
  readonly foreignKeys: readonly ForeignKey[];
};

export type VersionDetail = VersionSummary & {
  readonly manifest: Manifest;
};

export type VersionSummary = {
  readonly dataset: string;
  readonly version: number;
  readonly deliveryId: string;
  readonly storeId: string;
  readonly merkleRoot: string;
  readonly files: number;
  readonly bytes: number;
  readonly rowsAccepted: number;
  readonly rowsQuarantined: number;
  readonly createdAt: string;
  /** Accepted rows per table and year */
  readonly rows: { readonly [key: string]: { readonly [key: string]: number } };
};

export type VoteDecision = "approve" | "return" | "reject";

/** The values of {@link VoteDecision}, in the server's order. */
export const VoteDecisionValues: readonly VoteDecision[] = ["approve","return","reject"];

export type WorkspaceColumn = {
  readonly name: string;
  readonly type: string;
  readonly description?: string;
  readonly sensitivity?: string;
};

export type WorkspaceInfo = {
  readonly projectId: string;
  readonly status: "ready" | "building" | "none" | "failed" | "closed";
  readonly extract: ExtractManifest | null;
  readonly tables: readonly WorkspaceTable[];
  readonly quota: {
    readonly usedBytes: number;
    readonly quotaBytes: number;
  };
};

export type WorkspaceTable = {
  readonly schema: "extract" | "scratch";
  readonly name: string;
  readonly kind: "table" | "view";
  readonly rows?: number;
  readonly columns: readonly WorkspaceColumn[];
};

/** Each operation that documents a JSON body, by "METHOD /path" (relative to /api/v1). */
export interface ApiOperations {
  /** Release requests: a project's (?projectId=, members; checkers and auditors see them once submitted), or the checkers' queue (?status=) */
  "GET /airlock/requests": {
    readonly response: {
      readonly requests: readonly ReleaseRequest[];
    };
    readonly status: 200;
  };
  /** File a release request (a project member): {"projectId", "title", "description", "population"} */
  "POST /airlock/requests": {
    readonly response: RequestDetail;
    readonly status: 201;
  };
  /** A request: outputs with their rows, the disclosure report, votes, release, and the actions open to the caller */
  "GET /airlock/requests/{rid}": {
    readonly response: RequestDetail;
    readonly status: 200;
  };
  /** Change the request's context (draft or returned): {"title"?, "description"?, "population"?} */
  "PUT /airlock/requests/{rid}": {
    readonly response: RequestDetail;
    readonly status: 200;
  };
  /** Add a saved table of the workspace as an output: {"table", "name"?, "description", "kind"?, "roles"?: {column: role}, "variables"?: {column: definition}, "underlyingCounts"?} */
  "POST /airlock/requests/{rid}/outputs": {
    readonly response: RequestDetail;
    readonly status: 201;
  };
  /** Change an output (its rows are read again; its votes are reset): the fields of POST .../outputs, and "refresh" */
  "PUT /airlock/requests/{rid}/outputs/{oid}": {
    readonly response: RequestDetail;
    readonly status: 200;
  };
  /** Remove an output from the request (draft or returned) */
  "DELETE /airlock/requests/{rid}/outputs/{oid}": {
    readonly response: RequestDetail;
    readonly status: 200;
  };
  /** An output checker's votes: {"votes": [{"output", "decision": "approve"|"return"|"reject", "reasons": [codes], "comment"}]}; the second distinct approval of every output releases the request */
  "POST /airlock/requests/{rid}/reviews": {
    readonly response: RequestDetail;
    readonly status: 200;
  };
  /** Submit the request to the output checkers: the disclosure report is computed now */
  "POST /airlock/requests/{rid}/submit": {
    readonly response: RequestDetail;
    readonly status: 200;
  };
  /** Every version of the request, as it was changed */
  "GET /airlock/requests/{rid}/versions": {
    readonly response: {
      readonly versions: readonly RequestVersion[];
    };
    readonly status: 200;
  };
  /** Withdraw the request */
  "POST /airlock/requests/{rid}/withdraw": {
    readonly response: RequestDetail;
    readonly status: 200;
  };
  /** The public key that signs released bundles (enclave airlock verify --public-key) */
  "GET /airlock/signing-key": {
    readonly response: SigningKey;
    readonly status: 200;
  };
  /** Every checkpoint issued */
  "GET /audit/checkpoints": {
    readonly response: readonly CheckpointSummary[];
    readonly status: 200;
  };
  /** The public keys checkpoints are checked with: {"log": signed-note verifier key, "witnesses": [cosigner verifier keys]} */
  "GET /audit/keys": {
    readonly response: AuditKeys;
    readonly status: 200;
  };
  /** RFC 9162 consistency proof between two tree sizes */
  "GET /audit/proof/consistency": {
    readonly response: ConsistencyProof;
    readonly status: 200;
  };
  /** RFC 9162 inclusion proof of the event at a leaf index */
  "GET /audit/proof/inclusion": {
    readonly response: InclusionProof;
    readonly status: 200;
  };
  /** List datasets of the public catalogue */
  "GET /catalog/datasets": {
    readonly response: {
      readonly datasets: readonly DatasetSummary[];
    };
    readonly status: 200;
  };
  /** A dataset and its tables */
  "GET /catalog/datasets/{dataset}": {
    readonly response: Dataset;
    readonly status: 200;
  };
  /** Every table of a dataset with its columns, keys and column sensitivity (one call for a page that needs them all) */
  "GET /catalog/datasets/{dataset}/tables": {
    readonly response: {
      readonly dataset: string;
      readonly tables: readonly Table[];
    };
    readonly status: 200;
  };
  /** A table with its columns, keys and column sensitivity */
  "GET /catalog/datasets/{dataset}/tables/{table}": {
    readonly response: Table;
    readonly status: 200;
  };
  /** List nomenclatures (code lists) */
  "GET /catalog/nomenclatures": {
    readonly response: {
      readonly nomenclatures: readonly NomenclatureSummary[];
    };
    readonly status: 200;
  };
  /** A nomenclature and one page of its codes */
  "GET /catalog/nomenclatures/{name}": {
    readonly response: NomenclaturePage;
    readonly status: 200;
  };
  /** Search datasets, tables, columns and nomenclatures (every word must match; accents ignored) */
  "GET /catalog/search": {
    readonly response: {
      readonly q: string;
      readonly hits: readonly SearchHit[];
    };
    readonly status: 200;
  };
  /** My drafts of applications, newest first */
  "GET /governance/drafts": {
    readonly response: {
      readonly drafts: readonly ApplicationDraft[];
    };
    readonly status: 200;
  };
  /** Start a draft: {"content": {...the application so far}, "step"} */
  "POST /governance/drafts": {
    readonly response: ApplicationDraft;
    readonly status: 201;
  };
  /** One of my drafts */
  "GET /governance/drafts/{did}": {
    readonly response: ApplicationDraft;
    readonly status: 200;
  };
  /** Save a draft again: {"content", "step"} */
  "PUT /governance/drafts/{did}": {
    readonly response: ApplicationDraft;
    readonly status: 200;
  };
  /** My notifications (?unread=true) */
  "GET /governance/notifications": {
    readonly response: {
      readonly notifications: readonly Notification[];
    };
    readonly status: 200;
  };
  /** Mark all my notifications read; answers how many were unread */
  "POST /governance/notifications/read-all": {
    readonly response: {
      readonly marked: number;
    };
    readonly status: 200;
  };
  /** My notification settings: {"email"} (in-app notifications always) */
  "GET /governance/notifications/settings": {
    readonly response: NotificationSettings;
    readonly status: 200;
  };
  /** Change my notification settings: {"email": true | false} */
  "PUT /governance/notifications/settings": {
    readonly body: NotificationSettings;
    readonly response: NotificationSettings;
    readonly status: 200;
  };
  /** How many of my notifications are unread (the header's badge) */
  "GET /governance/notifications/unread-count": {
    readonly response: {
      readonly unread: number;
    };
    readonly status: 200;
  };
  /** Projects I belong to (all, for reviewers, auditors, admins) */
  "GET /governance/projects": {
    readonly response: {
      readonly projects: readonly Project[];
    };
    readonly status: 200;
  };
  /** File a project (draft); I become its principal investigator */
  "POST /governance/projects": {
    readonly body: Application;
    readonly response: Project;
    readonly status: 201;
  };
  /** A project: application, reviews, permits, and the actions open to me */
  "GET /governance/projects/{id}": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** The amendment under way (or the latest): what it changes, its reviews, the permit in force and the one proposed */
  "GET /governance/projects/{id}/amendment": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** File an amendment of the active permit: the application with its changed requested scope (principal investigator); the permit stays in force meanwhile */
  "POST /governance/projects/{id}/amendment": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** Revise a returned amendment (principal investigator), then resubmit it */
  "PUT /governance/projects/{id}/amendment/application": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** Committee vote on the amended permit; two distinct approvals put it in force and supersede the previous version */
  "POST /governance/projects/{id}/amendment/committee-decision": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** Amendment completeness check: {"decision": "approve" | "return"} */
  "POST /governance/projects/{id}/amendment/completeness": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** Amendment ethics opinion: {"decision": "approve" | "return" | "reject", "reference"} */
  "POST /governance/projects/{id}/amendment/ethics-opinion": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** Amendment legal review: {"decision": "approve" | "return" | "reject", "reference"} */
  "POST /governance/projects/{id}/amendment/legal-review": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** Resubmit a revised amendment (principal investigator) */
  "POST /governance/projects/{id}/amendment/submit": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** Withdraw the amendment (principal investigator); the permit in force is unchanged */
  "POST /governance/projects/{id}/amendment/withdraw": {
    readonly response: AmendmentDetail;
    readonly status: 200;
  };
  /** One version of the application */
  "GET /governance/projects/{id}/applications/{version}": {
    readonly response: ApplicationVersion;
    readonly status: 200;
  };
  /** Close the project (principal investigator or access committee) */
  "POST /governance/projects/{id}/close": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Committee vote; two distinct approvals put the permit in force */
  "POST /governance/projects/{id}/committee-decision": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Completeness check: {"decision": "approve" | "return"} */
  "POST /governance/projects/{id}/completeness": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Differences between two application versions (?from=1&to=2) */
  "GET /governance/projects/{id}/diff": {
    readonly response: {
      readonly changes: readonly DiffEntry[];
    };
    readonly status: 200;
  };
  /** Ethics and scientific opinion: {"decision": "approve" | "return" | "reject", "reference"} */
  "POST /governance/projects/{id}/ethics-opinion": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Record that the permit has expired */
  "POST /governance/projects/{id}/expire": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Legal review: {"decision": "approve" | "return" | "reject", "reference"} */
  "POST /governance/projects/{id}/legal-review": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Propose the permit (validated by the published schema and the catalogue) */
  "PUT /governance/projects/{id}/permit": {
    readonly response: Permit;
    readonly status: 201;
  };
  /** Permit versions of the project */
  "GET /governance/projects/{id}/permits": {
    readonly response: {
      readonly permits: readonly Permit[];
    };
    readonly status: 200;
  };
  /** Reinstate a suspended permit */
  "POST /governance/projects/{id}/reinstate": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Revoke the permit for good */
  "POST /governance/projects/{id}/revoke": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Submit the application (principal investigator) */
  "POST /governance/projects/{id}/submit": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Suspend the permit: access stops at once */
  "POST /governance/projects/{id}/suspend": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** The project's audit trail: every event about it, who acted (by name), when, with what outcome; the read is recorded */
  "GET /governance/projects/{id}/trail": {
    readonly response: ProjectTrail;
    readonly status: 200;
  };
  /** Withdraw the application (principal investigator) */
  "POST /governance/projects/{id}/withdraw": {
    readonly response: ProjectDetail;
    readonly status: 200;
  };
  /** Public register of permits in force and past (no login) */
  "GET /governance/register": {
    readonly response: {
      readonly permits: readonly RegisterEntry[];
    };
    readonly status: 200;
  };
  /** The demo logins switch: whether the embedded provider's demo people may log in, whether the login page lists them (ENCLAVE_DEMO_MODE), and a change waiting for a second admin */
  "GET /identity/demo-logins": {
    readonly response: DemoLogins;
    readonly status: 200;
  };
  /** Turn demo logins off ({"enabled": false}: at once; demo people's sessions end and their tokens are revoked) or on ({"enabled": true}: only proposed, 202; a second admin approves) */
  "POST /identity/demo-logins": {
    readonly response: DemoLoginChangeResult;
    readonly status: 200;
  };
  /** Approve turning demo logins on (a second admin, not its proposer) */
  "POST /identity/demo-logins/{changeId}/approve": {
    readonly response: DemoLoginChangeResult;
    readonly status: 200;
  };
  /** Reject (or, its proposer, withdraw) turning demo logins on */
  "POST /identity/demo-logins/{changeId}/reject": {
    readonly response: DemoLoginChangeResult;
    readonly status: 200;
  };
  /** Search the people directory (?q=, 2 to 100 characters): name and organisation of at most 20 people, to name colleagues in a team */
  "GET /identity/directory": {
    readonly response: {
      readonly people: readonly DirectoryEntry[];
    };
    readonly status: 200;
  };
  /** Who I am: person, roles, and the CSRF token of my session */
  "GET /identity/me": {
    readonly response: Me;
    readonly status: 200;
  };
  /** My API tokens (never the secret) */
  "GET /identity/me/tokens": {
    readonly response: {
      readonly tokens: readonly ApiToken[];
    };
    readonly status: 200;
  };
  /** Create an API token for one project: {"projectId", "days", "label"}; the secret is shown once */
  "POST /identity/me/tokens": {
    readonly response: NewApiToken;
    readonly status: 201;
  };
  /** People known to the platform and their roles */
  "GET /identity/people": {
    readonly response: {
      readonly people: readonly Person[];
    };
    readonly status: 200;
  };
  /** Grant a platform role: {"role"} (admin, never to oneself). A reviewing role (access_committee, ethics_reviewer, legal_reviewer, output_checker) is only proposed (202): a second admin approves it */
  "POST /identity/people/{personId}/roles": {
    readonly response: RoleChangeResult;
    readonly status: 200;
  };
  /** Remove a platform role (admin, never one's own). A reviewing role is only proposed for removal (202): a second admin approves it */
  "DELETE /identity/people/{personId}/roles/{role}": {
    readonly response: RoleChangeResult;
    readonly status: 200;
  };
  /** Role changes, newest first (?state=pending|applied|rejected) */
  "GET /identity/role-changes": {
    readonly response: {
      readonly changes: readonly RoleChange[];
    };
    readonly status: 200;
  };
  /** Approve a pending change of a reviewing role (a second admin: not its proposer, not the person concerned) */
  "POST /identity/role-changes/{changeId}/approve": {
    readonly response: RoleChange;
    readonly status: 200;
  };
  /** Reject (or, its proposer, withdraw) a pending change of a reviewing role */
  "POST /identity/role-changes/{changeId}/reject": {
    readonly response: RoleChange;
    readonly status: 200;
  };
  /** Datasets with their version count and latest ingested version */
  "GET /operator/datasets": {
    readonly response: {
      readonly datasets: readonly OperatorDataset[];
    };
    readonly status: 200;
  };
  /** Ingested versions of a dataset, newest first (rows per table and year, quarantined rows) */
  "GET /operator/datasets/{dataset}/versions": {
    readonly response: {
      readonly versions: readonly VersionSummary[];
    };
    readonly status: 200;
  };
  /** One version with its manifest (files, hashes, Merkle root) */
  "GET /operator/datasets/{dataset}/versions/{version}": {
    readonly response: VersionDetail;
    readonly status: 200;
  };
  /** Quarantine report of the delivery behind a version: complete counts per rule, file, table and column; one page of entries (?offset, ?limit ≤ 10000, ?table, ?column, ?rule; values reduced to their shape) */
  "GET /operator/datasets/{dataset}/versions/{version}/quarantine": {
    readonly response: QuarantineReportPage;
    readonly status: 200;
  };
  /** Drops closed projects still owe an engine that keeps copies (Trino: the project's schema and catalog), left owed because the engine was unreachable at the closure; retried at start and every minute, each attempt audited (trino.cleanup). ?all=true lists the paid ones too */
  "GET /operator/engine-cleanups": {
    readonly response: {
      readonly cleanups: readonly EngineCleanup[];
    };
    readonly status: 200;
  };
  /** Try every owed drop now (each attempt audited trino.cleanup, success or failure); answers what was paid and what is still owed */
  "POST /operator/engine-cleanups/retry": {
    readonly response: EngineCleanupPass;
    readonly status: 200;
  };
  /** Data keys: ids, scope, purpose, state and wrapping master key id (never key material) */
  "GET /operator/keys": {
    readonly response: {
      readonly keys: readonly DataKey[];
    };
    readonly status: 200;
  };
  /** Rotate the master key: a new one re-wraps every data key in one audited transaction (keys.rotate_master); the old key leaves the keyring, so earlier keyring backups no longer open the data keys: back up the new keyring at once */
  "POST /operator/keys/rotate-master": {
    readonly response: MasterKeyRotation;
    readonly status: 200;
  };
  /** Migration plans, newest first, each with its journal counts, whether a run is under way and its live progress */
  "GET /operator/migrations": {
    readonly response: {
      readonly migrations: readonly MigrationStatus[];
    };
    readonly status: 200;
  };
  /** Where one migration stands: files and bytes copied (live, to the byte, while this server runs it), failures, verification */
  "GET /operator/migrations/{planId}": {
    readonly response: MigrationStatus;
    readonly status: 200;
  };
  /** Start (or resume) copying the files of a plan on this server: {"maxBytesPerSecond"?}. Answers 202 once the run holds the plan; follow it with GET /migrations/:planId (audited as migrate.run.start and migrate.run) */
  "POST /operator/migrations/{planId}/run": {
    readonly response: MigrationStatus;
    readonly status: 202;
  };
  /** Every project's engine state in one answer, by project id, a page at a time (?limit=1..500, default 100; ?offset), with the total: the engine it is on, the engine serving it now, whether it is moving, and why its last move failed (lastFailure) */
  "GET /operator/projects/engines": {
    readonly response: ProjectEnginesPage;
    readonly status: 200;
  };
  /** The engine a project is on (DuckDB or Trino; its own choice or the deployment's default), the engine its workspace opens on now, and the engines this deployment runs */
  "GET /operator/projects/{projectId}/engine": {
    readonly response: ProjectEngine;
    readonly status: 200;
  };
  /** Put a project on an engine: {"engine": "duckdb" | "trino"} (audited as project.engine.change). 202: its extract is rebuilt on that engine in the background, members keep working on the old one until it is ready, then the old copy is dropped (project.engine.rebuilt); a failed rebuild puts the project back (project.engine.revert). 200: nothing had to move. 409 for an engine this deployment does not run, or a project whose workspace has ended */
  "PUT /operator/projects/{projectId}/engine": {
    readonly body: ProjectEngineRequest;
    readonly response: ProjectEngineChange;
    readonly status: 200;
  };
  /** The manifest of the project's extract: tables, rows, dataset versions, key id, SHA-256 of each file (members and reviewers) */
  "GET /projects/{id}/extract": {
    readonly response: ExtractManifest;
    readonly status: 200;
  };
  /** My queries in this project, newest first (?limit=50&before=<startedAt>) */
  "GET /projects/{id}/queries": {
    readonly response: {
      readonly queries: readonly Query[];
    };
    readonly status: 200;
  };
  /** Run one SQL statement in the workspace: {"sql", "saveAs"?: {"name", "kind": "table"|"view"}, "waitMs"?}; 201 with the Query when done within waitMs (a refusal is a Query with status refused), else 202 running */
  "POST /projects/{id}/queries": {
    readonly response: Query;
    readonly status: 201;
  };
  /** One of my queries, with its progress while it runs */
  "GET /projects/{id}/queries/{qid}": {
    readonly response: Query;
    readonly status: 200;
  };
  /** Cancel one of my queries (queued or running); answers the Query as it ends up */
  "POST /projects/{id}/queries/{qid}/cancel": {
    readonly response: Query;
    readonly status: 200;
  };
  /** A page of a query's result, read from the engine (?offset=0&limit=100, limit ≤ 1000); 410 when the result is no longer kept */
  "GET /projects/{id}/queries/{qid}/rows": {
    readonly response: RowsPage;
    readonly status: 200;
  };
  /** Saved queries of the project (shared by its members) */
  "GET /projects/{id}/saved-queries": {
    readonly response: {
      readonly savedQueries: readonly SavedQuery[];
    };
    readonly status: 200;
  };
  /** Save a query for the project: {"name", "sql", "description"?} */
  "POST /projects/{id}/saved-queries": {
    readonly response: SavedQuery;
    readonly status: 201;
  };
  /** Saved tables and views of the workspace's scratch schema */
  "GET /projects/{id}/tables": {
    readonly response: {
      readonly tables: readonly WorkspaceTable[];
    };
    readonly status: 200;
  };
  /** The project's workspace: extract status and manifest, tables with catalogue descriptions, scratch quota (members; reviewers: extract metadata) */
  "GET /projects/{id}/workspace": {
    readonly response: WorkspaceInfo;
    readonly status: 200;
  };
}

/** The success response body of an operation. */
export type ApiResponse<K extends keyof ApiOperations> = ApiOperations[K]['response'];
