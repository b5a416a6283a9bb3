// REST: documents, their versions and their content. Uploads stream the raw body straight into the
// pipeline (any Content-Type but multipart/form-data is the file's bytes; multipart is for browsers).
import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError, invalid } from '../../domain/errors.js';
import type { AppServices } from '../../services/app-services.js';
import type { UploadResult } from '../../services/documents.service.js';
import { uploadOutcome } from '../../services/upload-outcome.js';
import { formReadFailure, multipartFileLimit, wholeFile } from '../multipart-file.js';
import { sendContent } from '../content.js';
import { ifMatchHashes, partialContentRefusal } from '../../protocol/content-headers.js';
import { bearerActor } from '../plugins/authenticate.js';
import { NAME_TAKEN_409, presentDocument, presentVersion } from './presenters.js';

const idParams = z.object({ id: z.string() });
const classification = z.enum(['OFFICIAL', 'OFFICIAL-SENSITIVE']);
/** Version numbers are stored as 32-bit integers; a larger one names no version, and must not reach the database. */
const versionNumber = z.coerce.number().int().positive().max(2_147_483_647);
/** Checked by the documents service (a zoned ISO 8601 date-time, at most a day ahead), so every door gives the same answer. */
const sourceModifiedAt = z.string().optional()
  .describe('When the file was last modified at its source, ISO 8601 with a time zone (e.g. 2024-03-01T09:30:00Z); kept on the version and shown as the document\'s sourceModifiedAt. At most a day in the future.');

function uploadResponse(result: UploadResult) {
  return {
    id: result.document.id, version: result.version.number, size: result.version.size, sha256: result.version.sha256,
    status: result.infected ? 'quarantined' : result.document.status, mediaType: result.version.mediaType,
    scan: result.version.scanStatus,
  };
}

function sendUpload(reply: FastifyReply, result: UploadResult, created: boolean) {
  const outcome = uploadOutcome(result);
  switch (outcome.kind) {
    case 'infected':
      return reply.status(422).type('application/problem+json').send({
        ...uploadResponse(result),
        type: 'https://strongroom.local/problems/infected', title: 'Refused', status: 422, documentStatus: 'quarantined',
        detail: `Malware detected (${outcome.signature}). The file has been quarantined and nobody can download it.`,
        signature: outcome.signature, requestId: String(reply.request.id),
      });
    case 'held_for_review':
      // Stored, but nobody may read it until a security admin releases it: accepted, not yet done.
      return reply.status(202).send({ ...uploadResponse(result), status: 'quarantined', review: outcome.reason });
    case 'pending_scan':
    case 'available':
      return reply.status(created ? 201 : 200).send(uploadResponse(result));
  }
}

function declaredSize(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  return header === undefined ? undefined : Number(header);
}

const ONE_FILE = 'Send one file per request; this form has more than one.';

/**
 * The single file of a multipart upload. Its body ends only once the whole form has been read, so
 * a form with a second file is refused before anything is stored, never stored as its first file.
 */
async function onlyFileOf(request: FastifyRequest, maxUploadBytes: number): Promise<{ name: string; body: AsyncIterable<Uint8Array> }> {
  const parts = request.parts();
  const nextPart = () => parts.next().catch((error: unknown) => {
    throw (error as { code?: string }).code === 'FST_FILES_LIMIT' ? new DomainError('TOO_LARGE', ONE_FILE) : formReadFailure(error);
  });
  let file: MultipartFile | undefined;
  for (let next = await nextPart(); !next.done; next = await nextPart()) {
    if (next.value.type === 'file') {
      file = next.value;
      break;
    }
  }
  if (!file) throw invalid('The form has no file in it.', { field: 'file' });
  const first = file;
  async function* body(): AsyncGenerator<Uint8Array> {
    yield* wholeFile(first, maxUploadBytes);
    for (;;) {
      const next = await nextPart();
      if (next.done) return;
      if (next.value.type === 'file') {
        next.value.file.resume();
        throw new DomainError('TOO_LARGE', ONE_FILE);
      }
    }
  }
  return { name: first.filename, body: body() };
}

/** Routes whose body is a file: the raw stream is never parsed, buffered or size-limited by Fastify. */
const uploadRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  app.removeAllContentTypeParsers();
  // Busboy's own size error is off: the upload pipeline refuses an oversized file itself (see multipart-file.ts).
  await app.register(multipart, { throwFileSizeLimit: false, limits: { files: 1, fileSize: multipartFileLimit(vault.config.maxUploadBytes), fields: 5 } });
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const r = app.withTypeProvider<ZodTypeProvider>();

  async function fileFrom(request: FastifyRequest, fallbackName?: string) {
    const partial = partialContentRefusal(request.headers);
    if (partial) throw invalid(partial, { field: 'Content-Range' });
    if (request.isMultipart()) {
      const { name, body } = await onlyFileOf(request, vault.config.maxUploadBytes);
      return { name: name || fallbackName || '', body, declaredSize: undefined };
    }
    return { name: fallbackName ?? '', body: request.raw, declaredSize: declaredSize(request) };
  }

  r.post('/collections/:id/documents', {
    schema: {
      tags: ['documents'], summary: 'Upload a new document (raw body, or multipart/form-data from browsers)',
      description: NAME_TAKEN_409,
      params: idParams, querystring: z.object({ name: z.string().optional(), classification: classification.optional(), sourceModifiedAt }),
      consumes: ['application/octet-stream', 'multipart/form-data'],
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const file = await fileFrom(request, request.query.name);
    if (!file.name) throw invalid('Give the file name as ?name=FILE.', { field: 'name' });
    const result = await vault.documents.upload(actor, request.params.id, {
      name: file.name, body: file.body, ...(file.declaredSize !== undefined ? { declaredSize: file.declaredSize } : {}),
      ...(request.query.classification ? { classification: request.query.classification } : {}),
      ...(request.query.sourceModifiedAt !== undefined ? { sourceModifiedAt: request.query.sourceModifiedAt } : {}),
    });
    return sendUpload(reply, result, true);
  });

  r.put('/documents/:id/content', {
    schema: {
      tags: ['documents'], summary: 'Upload a new version', params: idParams, querystring: z.object({ sourceModifiedAt }), consumes: ['application/octet-stream'],
      description: 'With If-Match (the ETag of a download: `"<sha256>"`, or a list of them), the version is stored only if the current content is one of those, '
        + 'both when the request arrives and when its body has (412 otherwise, nothing stored): a version someone else saved meanwhile is never replaced unseen.',
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const file = await fileFrom(request, 'x');
    const ifMatch = ifMatchHashes(request.headers['if-match']);
    const result = await vault.documents.uploadVersion(actor, request.params.id, {
      body: file.body, ...(file.declaredSize !== undefined ? { declaredSize: file.declaredSize } : {}),
      ...(ifMatch ? { ifMatch } : {}),
      ...(request.query.sourceModifiedAt !== undefined ? { sourceModifiedAt: request.query.sourceModifiedAt } : {}),
    });
    return sendUpload(reply, result, false);
  });
};

export const documentsRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  await app.register(uploadRoutes(vault));
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/documents/:id', { schema: { tags: ['documents'], summary: 'Document metadata (sourceModifiedAt: the current version\'s source modification time, or null), with its retention (series, trigger, trigger date, due date, action, holds) and its text extraction status (text: {status: pending | done | partial | failed, reason})', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const { document } = await vault.documents.get(actor, request.params.id);
    return { ...presentDocument(document), retention: await vault.retention.retentionOf(actor, document.id), text: await vault.search.textStatus(actor, document.id) };
  });

  // GET and HEAD declared together: Fastify's own HEAD route would set Content-Length to 0 for a
  // HEAD that sends no body, and a HEAD reads (and audits) no content (sendContent).
  r.route({
    method: ['GET', 'HEAD'], url: '/documents/:id/content',
    schema: { tags: ['documents'], summary: 'Download the current version (Range supported)', params: idParams },
    handler: async (request, reply) => {
      const actor = await bearerActor(vault.identity, request);
      return sendContent(vault, actor, request, reply, request.params.id);
    },
  });

  r.get('/documents/:id/versions', { schema: { tags: ['documents'], summary: 'Versions of a document', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const { versions } = await vault.documents.versions(actor, request.params.id);
    return { versions: versions.map(presentVersion) };
  });

  r.route({
    method: ['GET', 'HEAD'], url: '/documents/:id/versions/:n/content',
    schema: { tags: ['documents'], summary: 'Download one version', params: z.object({ id: z.string(), n: versionNumber }) },
    handler: async (request, reply) => {
      const actor = await bearerActor(vault.identity, request);
      return sendContent(vault, actor, request, reply, request.params.id, request.params.n);
    },
  });

  r.patch('/documents/:id', {
    schema: {
      tags: ['documents'], summary: 'Rename or move a document',
      description: 'Its service area, arrangement binding and classification floor follow the destination collection (a classification is raised, never lowered), '
        + 'and the file-type policy is applied to the new name (422 when refused). A move to another organisation is a copy there and a deletion here, '
        + 'all or nothing; the answer is then the new document, with its new id. A series given with a rename or move is written in the same transaction: '
        + `if either is refused, neither is done. ${NAME_TAKEN_409} `
        + 'With If-Match (the ETag of a download: `"<sha256>"`, or a list of them), it is renamed or moved only if its current content is one of those, '
        + 'both when the request arrives and when the move commits (412 otherwise, nothing done): a version someone else saved meanwhile is never moved unseen.',
      params: idParams,
      body: z.object({
        name: z.string().optional(), collectionId: z.string().optional(),
        series: z.string().max(60).nullable().optional().describe('File the document under its own record series (null: its collection\'s); records managers'),
        confirmShorter: z.boolean().optional().describe('Confirms a series change, or a move to a collection filed under a shorter series, that brings the due date earlier '
          + '(otherwise 409); records managers only (otherwise 403)'),
      }),
    },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const { series, confirmShorter, ...place } = request.body;
    if (series !== undefined && place.name === undefined && place.collectionId === undefined) {
      await vault.retention.setDocumentSeries(actor, request.params.id, series, { confirmShorter: confirmShorter === true });
      return presentDocument((await vault.documents.get(actor, request.params.id)).document);
    }
    // A series with a rename or move is decided now and written in the move's transaction: all or nothing.
    const refile = series !== undefined ? await vault.retention.stageDocumentSeries(actor, request.params.id, series) : undefined;
    const ifMatch = ifMatchHashes(request.headers['if-match']);
    return presentDocument(await vault.filing.move(actor, request.params.id, {
      ...place, ...(confirmShorter === true ? { confirmShorter } : {}), ...(refile ? { refile } : {}), ...(ifMatch ? { ifMatch } : {}),
    }));
  });

  r.post('/documents/:id/copy', {
    schema: {
      tags: ['documents'], summary: 'Copy the current version into a collection (of any organisation you may add to)',
      description: 'Re-encrypted, scanned and checked against the destination’s file-type policy under the new name; nothing is stored if any step is refused. '
        + `The copy records copiedFromDocumentId and, when read through an arrangement, copiedViaArrangementId; the audit event is written under both organisations. ${NAME_TAKEN_409} `
        + 'With If-Match (the ETag of a download: `"<sha256>"`, or a list of them), it is copied only if the current content is one of those, '
        + 'both when the request arrives and when the copy commits (412 otherwise, nothing stored).',
      params: idParams, body: z.object({ collectionId: z.string(), name: z.string().optional() }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const ifMatch = ifMatchHashes(request.headers['if-match']);
    const copy = await vault.filing.copy(actor, request.params.id, {
      collectionId: request.body.collectionId, ...(request.body.name !== undefined ? { name: request.body.name } : {}), ...(ifMatch ? { ifMatch } : {}),
    });
    return reply.status(201).send(presentDocument(copy));
  });

  r.post('/documents/:id/classification', {
    schema: { tags: ['documents'], summary: 'Change the classification (with a reason)', params: idParams, body: z.object({ classification, reason: z.string() }) },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentDocument(await vault.documents.classify(actor, request.params.id, request.body.classification, request.body.reason));
  });

  r.delete('/documents/:id', {
    schema: {
      tags: ['documents'], summary: 'Delete (soft; restorable)', params: idParams,
      description: 'With If-Match (the ETag of a download: `"<sha256>"`, or a list of them), the document is binned only if its current content is one of those, '
        + 'both when the request arrives and when the deletion commits (412 otherwise, nothing binned): a version someone else saved meanwhile is never binned unseen.',
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const ifMatch = ifMatchHashes(request.headers['if-match']);
    await vault.documents.remove(actor, request.params.id, ifMatch ? { ifMatch } : {});
    return reply.status(204).send();
  });

  r.post('/documents/:id/restore', { schema: { tags: ['documents'], summary: 'Restore a deleted document', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentDocument(await vault.documents.restore(actor, request.params.id));
  });

  r.get('/documents/:id/access-history', { schema: { tags: ['audit'], summary: 'Who did what with this document', params: idParams } }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    await vault.audit.sequencer.integrate();
    return { events: await vault.documents.accessHistory(actor, request.params.id) };
  });
};
