// The one place HTTP turns errors into responses: RFC 9457 problem+json for the API.
// Unknown errors become a 500 with the request id; their details stay in the log.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DamagedCopiesError, DomainError } from '../domain/errors.js';
import { STATUS_OF_ERROR } from '../protocol/error-status.js';
import { setSecurityHeaders } from './plugins/security-headers.js';

const TITLES: Record<number, string> = {
  400: 'Bad request', 401: 'Sign-in required', 403: 'Forbidden', 404: 'Not found', 409: 'Conflict', 412: 'Precondition failed',
  408: 'Request timeout', 413: 'Too large', 415: 'Unsupported media type', 416: 'Range not satisfiable', 422: 'Refused', 423: 'Not available', 429: 'Too many requests',
  500: 'Internal error', 503: 'Service unavailable', 507: 'Insufficient storage',
};

/** Body and form limits enforced by Fastify and @fastify/multipart: each refuses the request, in words a person understands. */
const TOO_LARGE_DETAIL: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large.',
  FST_REQ_FILE_TOO_LARGE: 'The file is larger than this service accepts.',
  FST_FILES_LIMIT: 'The form carries more files than this service accepts at once.',
  FST_FIELDS_LIMIT: 'The form has more fields than this service accepts.',
  FST_PARTS_LIMIT: 'The form has more parts than this service accepts.',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId: string;
  [extra: string]: unknown;
}

export function problemFor(error: unknown, request: FastifyRequest): Problem {
  const requestId = String(request.id);
  if (error instanceof DomainError) {
    let status = STATUS_OF_ERROR[error.code];
    if (error.details?.rangeNotSatisfiable) status = 416;
    if (error.code === 'INTEGRITY') {
      request.log.error({ err: error }, 'integrity failure');
      return { type: 'about:blank', title: TITLES[500]!, status, detail: error instanceof DamagedCopiesError ? error.message : 'Stored data failed its integrity check; it has not been served. The incident was logged.', requestId };
    }
    // The person sees "Could not …"; what the disk, database or scanner actually said is for the operator.
    if (error.code === 'UNAVAILABLE' || error.code === 'INSUFFICIENT_STORAGE') request.log.warn({ err: error, cause: error.cause }, 'a part the request needs is unavailable');
    return { type: `https://strongroom.local/problems/${error.code.toLowerCase()}`, title: TITLES[status] ?? 'Error', status, detail: error.message, requestId, ...(error.details ?? {}) };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const problems = error.validation.map((v) => `${v.instancePath.replace(/^\//, '') || 'request'}: ${v.message}`);
    return { type: 'https://strongroom.local/problems/invalid', title: TITLES[400]!, status: 400, detail: `The request is not valid: ${problems.join('; ')}.`, requestId, errors: problems };
  }
  const fastifyError = error as FastifyError;
  const tooLarge = TOO_LARGE_DETAIL[fastifyError.code];
  if (tooLarge) {
    return { type: 'https://strongroom.local/problems/too_large', title: TITLES[413]!, status: 413, detail: tooLarge, requestId };
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const detail = fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fastifyError instanceof SyntaxError ? 'The request body is not valid JSON.' : fastifyError.message;
    return { type: 'about:blank', title: TITLES[fastifyError.statusCode] ?? 'Bad request', status: fastifyError.statusCode, detail, requestId };
  }
  request.log.error({ err: error }, 'unhandled error');
  return { type: 'about:blank', title: TITLES[500]!, status: 500, detail: `Something went wrong on our side. Quote request id ${requestId} to support.`, requestId };
}

/** Tells the client when to try again, for a refusal that passes by itself (a busy database, a rate limit): the API's, and the web page's. */
export function sayWhenToRetry(reply: FastifyReply, problem: Problem): void {
  if (typeof problem.retryAfterSeconds === 'number') reply.header('Retry-After', String(problem.retryAfterSeconds));
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  sayWhenToRetry(reply, problem);
  // A body we stopped reading (refused, stalled, too large) must not be drained to reuse the connection.
  if (!reply.request.raw.complete) reply.header('Connection', 'close');
  return reply.status(problem.status).type('application/problem+json').send(problem);
}

/**
 * A refusal the router makes before any route or hook runs (an address that cannot be percent-decoded):
 * Fastify sends it outside the onSend hooks, so it gets here the headers those hooks give every other
 * answer. It quotes the address it was sent, so it must never be sniffed, framed or cached (until the attack
 * review of the web surface, 7 December, it wore none of them).
 */
export function sendRouterRefusal(error: unknown, request: FastifyRequest, reply: FastifyReply, hsts: boolean): FastifyReply {
  setSecurityHeaders(request, reply, hsts);
  reply.header('X-Request-Id', String(request.id)).header('Cache-Control', 'no-store');
  return sendProblem(reply, problemFor(error, request));
}
