// A document's page: metadata, versions, download, new version, rename/move, delete/restore,
// classification change, and its access history (for those the policy allows).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import type { Action } from '../../domain/access/actions.js';
import type { Classification } from '../../domain/types.js';
import { STATUS_OF_ERROR } from '../../protocol/error-status.js';
import { documentResource, type AccessQuestion } from '../../services/access.service.js';
import { sendContent } from '../content.js';
import { breadcrumbsFor, organisationNames } from './browse.routes.js';
import { downloadOrAsk } from './download-question.js';
import { errorList, render, requireCsrf, signedIn, type Ui } from './context.js';
import { eachFile } from './multipart.js';
import { retentionPanel } from './records.routes.js';
import { documentTextFacts } from './search.routes.js';
import { describeUpload } from './upload.routes.js';

type Form = Record<string, string | undefined>;

const NOTICES: Record<string, string> = {
  renamed: 'The document was renamed or moved.',
  restored: 'The document was restored.',
  classified: 'The classification was changed.',
  version: 'The new version was uploaded.',
  retention: 'The retention was updated.',
};

export const documentPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  async function page(request: FastifyRequest, reply: FastifyReply, id: string, extra: Record<string, unknown> = {}, status = 200) {
    const web = signedIn(request);
    const { document, versions } = await ui.vault.documents.versions(web.actor, id);
    const orgs = await organisationNames(ui);
    // The trail and the caption name a folder only to someone who may list it (a security admin reviewing a file may not).
    const trail = await ui.vault.collections.trail(web.actor, document.collectionId);
    const breadcrumbs = breadcrumbsFor(trail, orgs);
    const collection = trail.steps.at(-1) ?? null;
    // Which forms and links to offer: asked of the same rules the actions enforce, in one call.
    const newest = [...versions].sort((a, b) => b.number - a.number);
    const resource = documentResource(document);
    const ask = (action: Action, extraQuestion: Partial<AccessQuestion> = {}): AccessQuestion => ({ action, resource, ...extraQuestion });
    const asked = [
      ask('document.download'), ask('document.version'), ask('document.rename'), ask('document.classify', { newClassification: document.classification }),
      ask('document.delete'), ask('document.restore'), ask('document.access-history'),
      // Early destruction of a binned record: its owning organisation's records manager, as the proposal asks (records.dispose).
      ask('records.dispose'),
      ...newest.map((v) => ask('document.download', { resource: { ...resource, versionScan: v.scanStatus } })),
    ];
    const answers = await ui.vault.access.can(web.actor, asked);
    const [download, version, rename, classify, remove, restore, history, dispose] = answers;
    const may = { download, version, rename, classify, delete: remove, restore, history, disposeEarly: dispose === true && document.deletedAt !== null };
    const downloadable = Object.fromEntries(newest.map((v, i) => [v.number, answers[8 + i] === true]));
    const destinations = rename ? await ui.vault.collections.visible(web.actor, document.organisationId) : [];
    const query = request.query as { notice?: string };
    // Legal holds over it, and "Place on hold" for its own organisation's records managers and DPOs.
    const holds = await ui.vault.holds.holdsFor(web.actor, id);
    const mayHold = document.organisationId === web.organisation.id && await ui.vault.access.may(web.actor, 'records.hold', { kind: 'organisation', organisationId: document.organisationId });
    return render(ui, request, reply, 'document.njk', {
      document, versions: newest, breadcrumbs, collection, owner: orgs.get(document.organisationId),
      destinations, may, downloadable, notice: NOTICES[query.notice ?? ''] ?? null, holds, mayHold,
      retentionPanel: await retentionPanel(ui, web.actor, document), textFacts: await documentTextFacts(ui, web.actor, document), ...extra,
    }, status);
  }

  /** Runs a change; on a refusal the page is shown again with the reason in an error summary. */
  async function change(request: FastifyRequest, reply: FastifyReply, id: string, field: string, work: () => Promise<string>) {
    try {
      return reply.redirect(await work(), 303);
    } catch (error) {
      if (!(error instanceof DomainError) || !['INVALID', 'CONFLICT', 'NOT_FOUND', 'LOCKED', 'BLOCKED_FILE_TYPE'].includes(error.code)) throw error;
      if (error.code === 'NOT_FOUND') throw error;
      const status = error.code === 'CONFLICT' ? 409 : error.code === 'BLOCKED_FILE_TYPE' ? 422 : error.code === 'LOCKED' ? 423 : 400;
      return page(request, reply, id, { errors: errorList(error, field) }, status);
    }
  }

  app.get<{ Params: { id: string } }>('/documents/:id', async (request, reply) => page(request, reply, request.params.id));

  /** The version a download asks for (query or form), undefined for the current one; anything else is no such version. */
  const versionAsked = (raw: string | undefined): number | undefined => {
    const n = raw ? Number(raw) : undefined;
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 2_147_483_647)) throw new DomainError('NOT_FOUND', 'No such version of this document.');
    return n;
  };

  // GET and HEAD together, as the API's content routes (a HEAD reads and audits no content). A download is
  // recorded in the person's name, so a GET another site may have sent (download-question.ts) is asked first.
  app.route<{ Params: { id: string }; Querystring: { version?: string } }>({
    method: ['GET', 'HEAD'], url: '/documents/:id/download',
    handler: async (request, reply) => {
      const web = signedIn(request);
      const id = request.params.id;
      const n = versionAsked(request.query.version);
      return downloadOrAsk(ui, request, reply, () => sendContent(ui.vault, web.actor, request, reply, id, n), async () => {
        // Decided as the download is (a refusal audited, 404); its content is never read, so nothing is recorded.
        const { document } = await ui.vault.documents.prepareDownload(web.actor, id, n === undefined ? {} : { versionNumber: n });
        const fields: Record<string, string> = n === undefined ? {} : { version: String(n) };
        return {
          name: document.name, detail: n === undefined ? null : `Version ${n}`, action: `/documents/${document.id}/download`,
          fields, back: { href: `/documents/${document.id}`, text: 'Go to the document’s page instead' },
        };
      });
    },
  });

  // The question page's Download button: the same download, with the form's CSRF token.
  app.post<{ Params: { id: string }; Body: Form }>('/documents/:id/download', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    return sendContent(ui.vault, web.actor, request, reply, request.params.id, versionAsked(request.body?.version));
  });

  app.post<{ Params: { id: string } }>('/documents/:id/versions', async (request, reply) => {
    const id = request.params.id;
    const { files } = await eachFile(ui, request, (_name, body) => ui.vault.documents.uploadVersion(signedIn(request).actor, id, { body }));
    const outcome = files[0];
    if (!outcome) return page(request, reply, id, { errors: [{ text: 'Choose a file to upload as the new version', href: '#version-file' }] }, 400);
    const result = describeUpload(outcome);
    // A refusal keeps its own status (413 too large, 507 disk full…); malware and blocked types are 422.
    const refused = outcome.error instanceof DomainError ? STATUS_OF_ERROR[outcome.error.code] : 422;
    if ((request.headers.accept ?? '').includes('application/json')) return reply.status(result.ok ? 200 : refused).send(result);
    if (result.ok && result.status !== 'quarantined') return reply.redirect(`/documents/${id}?notice=version`, 303);
    return page(request, reply, id, { errors: [{ text: result.message, href: '#version-file' }] }, refused);
  });

  app.post<{ Params: { id: string }; Body: Form }>('/documents/:id/rename', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const id = request.params.id;
    return change(request, reply, id, 'name', async () => {
      const moved = await ui.vault.filing.move(web.actor, id, {
        name: request.body.name ?? '', ...(request.body.collectionId ? { collectionId: request.body.collectionId } : {}), ...(request.body.confirmShorter === 'yes' ? { confirmShorter: true } : {}),
      });
      return `/documents/${moved.id}?notice=renamed`;
    });
  });

  app.post<{ Params: { id: string }; Body: Form }>('/documents/:id/delete', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const id = request.params.id;
    return change(request, reply, id, '', async () => {
      const document = await ui.vault.documents.remove(web.actor, id);
      return `/collections/${document.collectionId}?notice=deleted`;
    });
  });

  app.post<{ Params: { id: string }; Body: Form }>('/documents/:id/dispose-early', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const id = request.params.id;
    const reason = typeof request.body?.reason === 'string' ? request.body.reason : '';
    return change(request, reply, id, 'reason', async () => `/disposal/${(await ui.vault.disposal.proposeEarly(web.actor, [id], reason)).batch.id}`);
  });

  app.post<{ Params: { id: string }; Body: Form }>('/documents/:id/restore', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const id = request.params.id;
    return change(request, reply, id, '', async () => {
      await ui.vault.documents.restore(web.actor, id);
      return `/documents/${id}?notice=restored`;
    });
  });

  app.post<{ Params: { id: string }; Body: Form }>('/documents/:id/classification', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    const id = request.params.id;
    const wanted = request.body.classification;
    return change(request, reply, id, 'reason', async () => {
      if (wanted !== 'OFFICIAL' && wanted !== 'OFFICIAL-SENSITIVE') throw new DomainError('INVALID', 'Choose a classification.', { details: { field: 'classification' } });
      await ui.vault.documents.classify(web.actor, id, wanted as Classification, request.body.reason ?? '');
      return `/documents/${id}?notice=classified`;
    });
  });

  app.get<{ Params: { id: string } }>('/documents/:id/history', async (request, reply) => {
    const web = signedIn(request);
    const { document } = await ui.vault.documents.get(web.actor, request.params.id);
    await ui.vault.audit.sequencer.integrate();
    const events = await ui.vault.documents.accessHistory(web.actor, document.id);
    const orgs = await organisationNames(ui);
    const breadcrumbs = [...breadcrumbsFor(await ui.vault.collections.trail(web.actor, document.collectionId), orgs), { text: document.name, href: `/documents/${document.id}` }];
    // Each event says who, as this reader may know them (DocumentsService.accessHistory).
    return render(ui, request, reply, 'document-history.njk', { document, events, breadcrumbs, orgs: Object.fromEntries(orgs) });
  });
};
