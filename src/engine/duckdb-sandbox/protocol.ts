/** Messages between the server and a workspace worker process (node IPC, advanced serialization). */
import type { CellValue, ResultColumn, SchemaTable } from '../workspace-port.ts';

export interface WorkerOpenSpec {
  readonly extract: ReadonlyArray<{ readonly name: string; readonly files: readonly string[]; readonly key: Uint8Array }>;
  readonly scratchDir: string;
  readonly scratchKey: Uint8Array;
  readonly scratchQuotaBytes: number;
  readonly memoryBytes: number;
  readonly threads: number;
}

export type WorkerRequest =
  | { readonly id: number; readonly op: 'open'; readonly spec: WorkerOpenSpec }
  | { readonly id: number; readonly op: 'run'; readonly sql: string; readonly timeoutMs: number; readonly rowCap: number; readonly resultName: string; readonly saveAs?: { readonly name: string; readonly kind: 'table' | 'view' } }
  | { readonly id: number; readonly op: 'page'; readonly resultName: string; readonly offset: number; readonly limit: number }
  | { readonly id: number; readonly op: 'discard'; readonly resultName: string }
  | { readonly id: number; readonly op: 'drop'; readonly name: string }
  | { readonly id: number; readonly op: 'describe' }
  | { readonly id: number; readonly op: 'cancel' }
  | { readonly id: number; readonly op: 'progress' }
  | { readonly id: number; readonly op: 'close' };

export interface RunReply {
  readonly kind: 'rows' | 'saved';
  readonly columns: readonly ResultColumn[];
  readonly rowCount: number;
  readonly truncated: boolean;
  readonly bytes?: number;
  readonly sha256?: string;
}

export interface PageReply {
  readonly columns: readonly ResultColumn[];
  readonly rows: ReadonlyArray<readonly CellValue[]>;
  readonly rowCount: number;
}

export type WorkerReplyValue = RunReply | PageReply | SchemaTable[] | number | null;

export interface WorkerError {
  readonly code: 'invalid' | 'forbidden' | 'conflict' | 'gone' | 'not_found' | 'payload_too_large' | 'internal';
  readonly message: string;
  readonly hint?: string;
  readonly details?: Readonly<Record<string, string>>;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: WorkerReplyValue }
  | { readonly id: number; readonly ok: false; readonly error: WorkerError };
