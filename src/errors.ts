/**
 * The closed set of error codes Enclave returns, and their mapping to HTTP problem+json
 * (RFC 9457). Every domain throws `AppError`; one handler in `http/` turns it into a response,
 * and the CLI prints `message` and `hint` and exits non-zero.
 *
 * @example
 *   throw new AppError('invalid', 'ER_PRS_F.csv line 12, column PRS_ACT_QTE: not an integer', {
 *     hint: 'fix the source file or let ingestion quarantine the row',
 *   });
 */
export const errorStatus = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  disclosure_blocked: 422,
  integrity: 422,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface AppErrorOptions {
  /** One sentence telling the person how to fix it. */
  readonly hint?: string;
  /** Machine-readable details (never row values or identifiers). */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly requestId?: string;
}

/** The one place an error becomes problem+json. Unknown errors never leak their message. */
export function toProblem(e: unknown, requestId?: string): Problem {
  const base = requestId === undefined ? {} : { requestId };
  if (isAppError(e)) {
    return {
      type: `https://enclave.invalid/problems/${e.code}`,
      title: e.code.replace(/_/g, ' '),
      status: e.status,
      detail: e.message,
      code: e.code,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
      ...(e.details === undefined ? {} : { details: e.details }),
      ...base,
    };
  }
  return {
    type: 'https://enclave.invalid/problems/internal',
    title: 'internal error',
    status: 500,
    detail: 'An internal error occurred; quote the request id to the operator.',
    code: 'internal',
    ...base,
  };
}
