/** Plain objects the airlock returns (the contract of the HTTP API and the portal). */
import type { CellValue, ColumnRole, DisclosureReport, OutputKind } from './rules/index.ts';
import type { ReasonCode, RequestActionName, RequestStatus, VoteDecision } from './workflow.ts';

export interface OutputColumnInfo {
  readonly name: string;
  /** The engine's type name. */
  readonly type: string;
  /** What the column means to the disclosure rules. */
  readonly role: ColumnRole;
  /** The member's definition of the variable. */
  readonly description: string;
}

/** Where an output's rows come from. */
export interface OutputLineage {
  readonly sourceTable: string;
  /** The statement that saved the table, and the SHA-256 of its text. */
  readonly queryId: string | null;
  readonly querySha256: string | null;
  readonly extractGeneration: number | null;
  readonly permitVersion: number | null;
  /** `dataset@version` of every dataset the extract was built from. */
  readonly datasetVersions: readonly string[];
}

export interface Vote {
  readonly id: string;
  readonly reviewId: string;
  readonly outputId: string;
  readonly outputVersion: number;
  readonly checkerId: string;
  readonly decision: VoteDecision;
  readonly reasons: readonly ReasonCode[];
  readonly comment: string;
  /** False once the output changed (its reviews reset) or, for a return, once the member resubmitted. */
  readonly active: boolean;
  readonly createdAt: string;
}

export interface ReleaseOutput {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly kind: OutputKind;
  readonly columns: readonly OutputColumnInfo[];
  readonly description: string;
  readonly underlyingCounts: string;
  readonly rowCount: number;
  /** SHA-256 of the output's CSV file (src/airlock/bundle.ts `outputCsv`). */
  readonly sha256: string;
  readonly lineage: OutputLineage;
  readonly createdBy: string;
  readonly updatedAt: string;
  /** The snapshot's rows, for members and checkers (absent in lists). */
  readonly rows?: readonly (readonly CellValue[])[];
}

export interface Release {
  readonly id: string;
  readonly releasedAt: string;
  readonly bundleSha256: string;
  readonly bundleBytes: number;
  readonly signingKeyId: string;
  readonly outputs: readonly { readonly outputId: string; readonly name: string; readonly sha256: string; readonly bytes: number }[];
}

export interface ReleaseRequest {
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
}

export interface RequestDetail {
  readonly request: ReleaseRequest;
  readonly outputs: readonly ReleaseOutput[];
  /** The disclosure report computed at the last submission (null in draft). */
  readonly report: DisclosureReport | null;
  readonly reportSha256: string | null;
  readonly votes: readonly Vote[];
  readonly release: Release | null;
  /** What this caller may do now (from the same policy the API enforces). */
  readonly actions: readonly RequestActionName[];
  readonly canDownload: boolean;
  /** Distinct approvals still needed per output (reviewable requests). */
  readonly approvalsNeeded: Readonly<Record<string, number>>;
}

export interface RequestVersion {
  readonly version: number;
  readonly status: RequestStatus;
  readonly changedBy: string;
  readonly changedAt: string;
  readonly content: unknown;
}
