/**
 * The airlock HTTP API (issue 13), kept to the contract of src/airlock/types.ts and
 * src/airlock/rules/types.ts: release requests, their outputs and the disclosure report, the
 * checkers' votes, and the download links of released bundles.
 */
import { get, request } from '../api.ts';

export type RequestStatus = 'draft' | 'submitted' | 'in_review' | 'returned' | 'released' | 'rejected' | 'withdrawn';
export type VoteDecision = 'approve' | 'return' | 'reject';
export type CellValue = string | number | null;

/** The reason codes of each decision (src/airlock/workflow.ts REASON_CODES). */
export const REASONS: Readonly<Record<VoteDecision, readonly string[]>> = {
  approve: ['rules_clean', 'flags_reviewed_safe', 'context_sufficient', 'other'],
  return: ['small_cells', 'secondary_disclosure', 'dominance', 'differencing', 'context_missing', 'underlying_counts_missing', 'apply_safe_version', 'other'],
  reject: ['row_level_data', 'identifiers', 'identifier_crossing', 'differencing', 'not_in_permit_purpose', 'other'],
};

export interface CellRef {
  readonly row: number;
  readonly column: string;
  readonly key: Readonly<Record<string, string>>;
}

export interface DisclosureFlag {
  readonly rule: string;
  readonly severity: 'block' | 'review';
  readonly output: string;
  readonly cell: CellRef | null;
  readonly message: { readonly en: string; readonly fr: string };
  readonly details: Readonly<Record<string, string | number>>;
  readonly other?: { readonly projectId: string; readonly releaseId: string; readonly outputName: string; readonly count: number };
}

export interface OutputReport {
  readonly name: string;
  readonly kind: string;
  readonly status: 'blocked' | 'review' | 'clean';
  readonly cellsChecked: number;
  readonly flags: readonly DisclosureFlag[];
  readonly safeVersion: {
    readonly method: 'suppression' | 'rounding' | 'withheld' | 'unchanged';
    readonly table: { readonly columns: readonly { readonly name: string }[]; readonly rows: readonly (readonly CellValue[])[] } | null;
    readonly primary: readonly CellRef[];
    readonly secondary: readonly CellRef[];
    readonly note: { readonly en: string; readonly fr: string };
  };
}

export interface ReleaseOutput {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly kind: string;
  readonly columns: readonly { readonly name: string; readonly type: string; readonly role: string; readonly description: string }[];
  readonly description: string;
  readonly underlyingCounts: string;
  readonly rowCount: number;
  readonly sha256: string;
  readonly lineage: { readonly sourceTable: string; readonly querySha256: string | null; readonly datasetVersions: readonly string[] };
  readonly rows?: readonly (readonly CellValue[])[];
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
  readonly submittedAt: string | null;
}

export interface Vote {
  readonly id: string;
  readonly outputId: string;
  readonly outputVersion: number;
  readonly checkerId: string;
  readonly decision: VoteDecision;
  readonly reasons: readonly string[];
  readonly comment: string;
  readonly active: boolean;
  readonly createdAt: string;
}

export interface RequestDetail {
  readonly request: ReleaseRequest;
  readonly outputs: readonly ReleaseOutput[];
  readonly report: { readonly outputs: readonly OutputReport[]; readonly summary: { readonly status: string; readonly blocks: number; readonly reviews: number; readonly cellsChecked: number } } | null;
  readonly reportSha256: string | null;
  readonly votes: readonly Vote[];
  readonly release: { readonly id: string; readonly bundleSha256: string; readonly releasedAt: string; readonly outputs: readonly { readonly name: string; readonly sha256: string }[] } | null;
  readonly actions: readonly ('edit' | 'submit' | 'withdraw' | 'review')[];
  readonly canDownload: boolean;
  readonly approvalsNeeded: Readonly<Record<string, number>>;
}

const enc = encodeURIComponent;
const base = '/api/v1/airlock';

export const airlockApi = {
  list: (q: { projectId?: string; status?: string }, s?: AbortSignal) =>
    get<{ requests: ReleaseRequest[] }>(`${base}/requests?${new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined)).toString()}`, s).then((r) => r.requests),
  get: (id: string, s?: AbortSignal) => get<RequestDetail>(`${base}/requests/${enc(id)}`, s),
  create: (b: { projectId: string; title: string; description: string; population: string }) => request<RequestDetail>('POST', `${base}/requests`, b),
  addOutput: (id: string, b: { table: string; description: string; variables?: Record<string, string>; underlyingCounts?: string }) => request<RequestDetail>('POST', `${base}/requests/${enc(id)}/outputs`, b),
  updateOutput: (id: string, oid: string, b: { refresh?: boolean; description?: string }) => request<RequestDetail>('PUT', `${base}/requests/${enc(id)}/outputs/${enc(oid)}`, b),
  removeOutput: (id: string, oid: string) => request<RequestDetail>('DELETE', `${base}/requests/${enc(id)}/outputs/${enc(oid)}`),
  submit: (id: string) => request<RequestDetail>('POST', `${base}/requests/${enc(id)}/submit`),
  withdraw: (id: string) => request<RequestDetail>('POST', `${base}/requests/${enc(id)}/withdraw`),
  review: (id: string, votes: readonly { output: string; decision: VoteDecision; reasons: readonly string[]; comment: string }[]) => request<RequestDetail>('POST', `${base}/requests/${enc(id)}/reviews`, { votes }),
  bundleUrl: (id: string) => `${base}/requests/${enc(id)}/bundle`,
  fileUrl: (id: string, output: string) => `${base}/requests/${enc(id)}/outputs/${enc(output)}/file`,
};
