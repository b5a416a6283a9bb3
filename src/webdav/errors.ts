// The one place WebDAV turns errors into responses (the REST API has http/error-handler.ts).
// Domain errors keep their meaning; WebDAV-specific preconditions carry an RFC 4918 error element.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DamagedCopiesError, DomainError, type ErrorCode } from '../domain/errors.js';
import { STATUS_OF_ERROR } from '../protocol/error-status.js';
import { href } from './resources.js';

/** An error raised by the WebDAV layer itself, with its status and optional RFC 4918 precondition element. */
export class DavError extends Error {
  constructor(readonly status: number, message: string, readonly condition?: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'DavError';
  }
}

// WebDAV clients show 403 with its body to the person, where 422 would be a bare failure.
const STATUS: Readonly<Record<ErrorCode, number>> = { ...STATUS_OF_ERROR, INFECTED: 403, BLOCKED_FILE_TYPE: 403 };

const REALM_HEADER = 'Basic realm="Strongroom", charset="UTF-8"';

export function sendDavError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const requestId = String(request.id);
  let status = 500;
  let message = `Something went wrong on our side. Quote request id ${requestId} to support.`;
  let condition: string | undefined;
  if (error instanceof DavError) {
    status = error.status;
    message = error.message;
    condition = error.condition;
    for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
  } else if (error instanceof DomainError) {
    status = STATUS[error.code];
    if (error.code === 'INTEGRITY') {
      request.log.error({ err: error }, 'integrity failure');
      message = error instanceof DamagedCopiesError ? error.message : 'Stored data failed its integrity check; it has not been served. The incident was logged.';
    } else {
      message = refusalWords(error.code, error.message, error.details?.signature);
    }
    // A folder copy refused because of things inside it names them: nothing at all was copied.
    const members = refusedMembers(error.details);
    if (typeof error.details?.member === 'string') message = `Nothing was copied. "${error.details.member}": ${message}`;
    else if (members) message = [message, ...members].join('\n');
    // A write that ran into a lock names the lock's root (RFC 4918 §16 DAV:lock-token-submitted).
    if (error.code === 'LOCKED' && typeof error.details?.lockRoot === 'string') {
      condition = `<D:lock-token-submitted><D:href>${escape(href(error.details.lockRoot.split('/').slice(2), false))}</D:href></D:lock-token-submitted>`;
    }
    if (error.details?.rangeNotSatisfiable) status = 416;
    if (typeof error.details?.retryAfterSeconds === 'number') reply.header('Retry-After', String(error.details.retryAfterSeconds));
  } else if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    status = 413;
    message = 'The request body is too large.';
  } else if (isClientFrameworkError(error)) {
    // Fastify's own refusals before our handler runs (an empty or malformed Content-Type, say) are the client's to fix.
    status = error.statusCode;
    message = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'The Content-Type header is not a valid media type.' : error.message;
  } else {
    request.log.error({ err: error }, 'unhandled WebDAV error');
  }
  if (status === 401) reply.header('WWW-Authenticate', REALM_HEADER);
  // A body we stopped reading (refused, stalled, too large) must not be drained to reuse the connection.
  if (!request.raw.complete) reply.header('Connection', 'close');
  if (reply.sent) return reply;
  if (condition) {
    return reply.status(status).type('application/xml; charset=utf-8')
      .send(`<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:">${condition.startsWith('<') ? condition : `<D:${condition}/>`}<D:responsedescription>${escape(message)}</D:responsedescription></D:error>`);
  }
  // HEAD responses carry no body.
  if (request.method === 'HEAD') return reply.status(status).send();
  return reply.status(status).type('text/plain; charset=utf-8').header('X-Request-Id', requestId).send(`${message}\n`);
}

/** What a refusal says to the person: malware and the file policy as a single upload's refusal says them. */
function refusalWords(code: string, message: string, signature: unknown): string {
  if (code === 'INFECTED') return `Refused: malware detected (${typeof signature === 'string' ? signature : 'unknown'}). The file has been quarantined and nobody can download it.`;
  if (code === 'BLOCKED_FILE_TYPE') return `Refused: ${message}`;
  return message;
}

/**
 * One line for each member a refused folder copy names (`details.members`, services/folder-copy.service.ts),
 * and "… and N more." past those; undefined when the error names no members. Something the person may see
 * but not copy (refused as not found) is said as such, as a single member's refusal is (methods/namespace.ts).
 */
function refusedMembers(details: Record<string, unknown> | undefined): string[] | undefined {
  const members = details?.members;
  if (!Array.isArray(members) || members.length === 0) return undefined;
  const lines = (members as { path: string; code: string; reason: string; signature?: string }[]).map((m) =>
    `"${m.path}": ${m.code === 'NOT_FOUND' ? 'you may not copy it.' : refusalWords(m.code, m.reason, m.signature)}`);
  const more = typeof details?.moreMembers === 'number' ? details.moreMembers : 0;
  return more > 0 ? [...lines, `… and ${more} more.`] : lines;
}

function escape(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

function isClientFrameworkError(error: unknown): error is { statusCode: number; code?: string; message: string } {
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  return error instanceof Error && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
}
