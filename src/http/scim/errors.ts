// The SCIM interface's one place that turns errors into responses (RFC 7644 §3.12): a SCIM Error body
// (`urn:ietf:params:scim:api:messages:2.0:Error`, status as a string, scimType where the RFC names one) with
// the right status, because provisioning clients such as Entra ID read that body and not RFC 9457 problems.
// Unknown errors become a 500 with the request id; their details stay in the log.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { ScimFilterError } from '../../domain/identity/scim-filter.js';
import { ScimRequestError, type ScimErrorType } from '../../domain/identity/scim-patch.js';
import { STATUS_OF_ERROR } from '../../protocol/error-status.js';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export interface ScimError {
  status: number;
  scimType?: ScimErrorType;
  detail: string;
  /** Sent as Retry-After (not in the body): a refusal that passes by itself, such as a busy database. */
  retryAfterSeconds?: number;
}

export function scimErrorFor(error: unknown, request: FastifyRequest): ScimError {
  if (error instanceof ScimFilterError) return { status: 400, scimType: 'invalidFilter', detail: error.message };
  if (error instanceof ScimRequestError) return { status: error.scimType === 'uniqueness' ? 409 : 400, scimType: error.scimType, detail: error.message };
  if (error instanceof DomainError && error.code !== 'INTEGRITY') {
    const status = STATUS_OF_ERROR[error.code];
    if (error.code === 'INVALID') return { status, scimType: 'invalidValue', detail: error.message };
    // A conflict with a reason is not a duplicate (the last enabled org admin, which the directory may not switch off): no scimType fits it.
    if (error.code === 'CONFLICT') return { status, ...(error.details?.reason === undefined ? { scimType: 'uniqueness' as const } : {}), detail: error.message };
    const retryAfterSeconds = error.details?.retryAfterSeconds;
    return { status, detail: error.message, ...(typeof retryAfterSeconds === 'number' ? { retryAfterSeconds } : {}) };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, detail: 'The request body is too large.' };
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, detail: 'Send SCIM requests as application/scim+json (or application/json).' };
  if (fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { status: 400, scimType: 'invalidSyntax', detail: 'The request body is empty; it must be a JSON object.' };
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) return { status: 400, scimType: 'invalidSyntax', detail: 'The request body is not valid JSON.' };
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) return { status: fastifyError.statusCode, detail: fastifyError.message };
  request.log.error({ err: error }, 'unhandled SCIM error');
  return { status: 500, detail: `Something went wrong on our side. Quote request id ${String(request.id)} to support.` };
}

export function sendScimError(reply: FastifyReply, error: ScimError): FastifyReply {
  if (error.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="strongroom-scim"');
  if (error.retryAfterSeconds !== undefined) reply.header('Retry-After', String(error.retryAfterSeconds));
  if (!reply.request.raw.complete) reply.header('Connection', 'close');
  return reply.status(error.status).type(SCIM_CONTENT_TYPE).send({
    schemas: [ERROR_SCHEMA], status: String(error.status), ...(error.scimType ? { scimType: error.scimType } : {}), detail: error.detail,
  });
}
