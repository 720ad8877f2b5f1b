/**
 * The airlock HTTP API (issue 13): release requests, their outputs and the disclosure report, the
 * checkers' votes, and the download links of released bundles. The types are generated from the
 * OpenAPI document (api/generated.ts), so they cannot drift from what the server sends.
 */
import { get, request } from '../api.ts';
import { ApproveReasonValues, RejectReasonValues, ReturnReasonValues } from '../api/generated.ts';
import type {
  AirlockCellValue, CellRef, DisclosureFlag, OutputReport, ReleaseOutput, ReleaseRequest, RequestDetail, RequestStatus, ReleaseVote, VoteDecision,
} from '../api/generated.ts';

export type { CellRef, DisclosureFlag, OutputReport, ReleaseOutput, ReleaseRequest, RequestDetail, RequestStatus, VoteDecision };
export type CellValue = AirlockCellValue;
export type Vote = ReleaseVote;

/** The reason codes of each decision: the server's own lists (src/airlock/workflow.ts REASON_CODES), through the OpenAPI document. */
export const REASONS: Readonly<Record<VoteDecision, readonly string[]>> = { approve: ApproveReasonValues, return: ReturnReasonValues, reject: RejectReasonValues };

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
