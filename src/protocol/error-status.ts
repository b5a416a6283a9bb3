// The HTTP status of each domain error code: one table for every interface that answers over HTTP
// (http/error-handler.ts for the API and web pages, webdav/errors.ts, which adjusts a few).
import type { ErrorCode } from '../domain/errors.js';

export const STATUS_OF_ERROR: Readonly<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  CONFLICT: 409,
  LOCKED: 423,
  INVALID: 400,
  TOO_LARGE: 413,
  INFECTED: 422,
  BLOCKED_FILE_TYPE: 422,
  INTEGRITY: 500,
  UNAVAILABLE: 503,
  INSUFFICIENT_STORAGE: 507,
  RATE_LIMITED: 429,
  TIMEOUT: 408,
  PRECONDITION_FAILED: 412,
  BAD_QUERY: 400,
};
