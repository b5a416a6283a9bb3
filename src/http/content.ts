// Sending a document's content over HTTP, the same for the REST API and the web interface: one
// authorised read, then ETag / If-None-Match, a single Range, and headers that keep it a download.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../domain/types.js';
import { attachmentDisposition, etagMatches, etagOf, parseRange, STORED_CONTENT_CSP } from '../protocol/content-headers.js';
import type { AppServices } from '../services/app-services.js';

export async function sendContent(vault: AppServices, actor: Actor, request: FastifyRequest, reply: FastifyReply, documentId: string, versionNumber?: number) {
  // Authorised once; conditional and unsatisfiable range requests are answered without reading (or auditing) content.
  const prepared = await vault.documents.prepareDownload(actor, documentId, versionNumber === undefined ? {} : { versionNumber });
  const { size } = prepared;
  const etag = etagOf(prepared.version.sha256);
  if (etagMatches(request.headers['if-none-match'], etag)) return reply.status(304).header('ETag', etag).send();
  const range = parseRange(request.headers.range, size);
  if (range === 'unsatisfiable') {
    return reply.status(416).header('Content-Range', `bytes */${size}`).type('application/problem+json')
      .send({ type: 'about:blank', title: 'Range not satisfiable', status: 416, detail: `The file is ${size} bytes long.`, requestId: String(request.id) });
  }
  // A HEAD releases no content, so it reads none and audits no download (as WebDAV's HEAD).
  const body = request.method === 'HEAD' ? undefined : await prepared.content(range);
  reply
    .header('ETag', etag)
    .header('Accept-Ranges', 'bytes')
    .header('Content-Disposition', attachmentDisposition(prepared.document.name))
    .header('X-Content-Type-Options', 'nosniff')
    .header('Content-Security-Policy', STORED_CONTENT_CSP)
    .header('Cache-Control', 'private, no-store')
    .type(prepared.version.mediaType || 'application/octet-stream');
  if (range) {
    reply.status(206).header('Content-Range', `bytes ${range.start}-${range.end}/${size}`).header('Content-Length', range.end - range.start + 1);
  } else {
    reply.header('Content-Length', size);
  }
  return reply.send(body);
}
