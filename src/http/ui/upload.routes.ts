// Upload page: one or many files through an ordinary file input (no JavaScript needed); with
// JavaScript, app.js sends each file on its own with a progress bar and shows the same results as JSON.
import type { FastifyPluginAsync } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import type { Classification, Collection } from '../../domain/types.js';
import { collectionResource } from '../../services/access.service.js';
import type { UploadResult } from '../../services/documents.service.js';
import { uploadOutcome } from '../../services/upload-outcome.js';
import { organisationNames, partnersOf } from './browse.routes.js';
import { render, signedIn, type Ui } from './context.js';
import { eachFile, type FileOutcome } from './multipart.js';

export interface UploadSummary {
  name: string;
  ok: boolean;
  /** available, pending_scan, quarantined, blocked, refused */
  status: string;
  /** A short outcome for the tag, like "Blocked: malware". */
  label: string;
  message: string;
  documentId: string | null;
  href: string | null;
}

const BLOCK_NAMES: Record<string, string> = {
  macro: 'macro-enabled document',
  executable: 'executable program',
  script: 'script',
  type_mismatch: 'the content does not match its name',
  archive_bomb: 'compressed archive that expands too far',
  archive_encrypted: 'password-protected, cannot be checked for viruses',
  active_content: 'file that runs script when opened',
  uncheckable_archive: 'archive that cannot be checked for viruses',
};

export function describeUpload(outcome: FileOutcome<UploadResult>): UploadSummary {
  const base = { name: outcome.name, documentId: null, href: null };
  if (outcome.ok && outcome.value) {
    const { document, version } = outcome.value;
    const link = { documentId: document.id, href: `/documents/${document.id}` };
    const stored = uploadOutcome(outcome.value);
    switch (stored.kind) {
      case 'infected': return { ...base, ...link, ok: false, status: 'quarantined', label: 'Blocked: malware', message: `Malware detected (${stored.signature}). The file is quarantined and nobody can download it.` };
      case 'held_for_review': return { ...base, ...link, ok: true, status: 'quarantined', label: 'Held for review', message: stored.reason };
      case 'pending_scan': return { ...base, ...link, ok: true, status: 'pending_scan', label: 'Being checked', message: `Uploaded as version ${version.number}; it is still being checked for malware.` };
      case 'available': return { ...base, ...link, ok: true, status: 'available', label: 'Uploaded', message: `Uploaded as version ${version.number}.` };
    }
  }
  const error = outcome.error;
  if (error instanceof DomainError && error.code === 'BLOCKED_FILE_TYPE') {
    const code = String(error.details?.code ?? '');
    return { ...base, ok: false, status: 'blocked', label: `Blocked: ${BLOCK_NAMES[code] ?? code.replace(/_/g, ' ')}`, message: error.message };
  }
  if (error instanceof DomainError && error.code === 'INFECTED') return { ...base, ok: false, status: 'quarantined', label: 'Blocked: malware', message: error.message };
  if (error instanceof DomainError && error.code !== 'INTEGRITY') return { ...base, ok: false, status: 'refused', label: 'Not uploaded', message: error.message };
  throw error;
}

export const uploadPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  /** Collections the person may upload into, in their own organisation and in partners' reached through arrangements. */
  async function targets(request: Parameters<typeof signedIn>[0]): Promise<{ collection: Collection; label: string }[]> {
    const web = signedIn(request);
    const orgs = await organisationNames(ui);
    const out: { collection: Collection; label: string }[] = [];
    for (const orgId of [web.organisation.id, ...(await partnersOf(ui, web))]) {
      const visible = await ui.vault.collections.visible(web.actor, orgId);
      const byId = new Map(visible.map((c) => [c.id, c]));
      for (const c of visible) {
        const path: string[] = [];
        for (let p: Collection | undefined = c; p && path.length < 10; p = p.parentId ? byId.get(p.parentId) : undefined) path.unshift(p.name);
        out.push({ collection: c, label: `${orgs.get(orgId)?.name ?? ''}: ${path.join(' / ')}` });
      }
    }
    // Offered only where an upload would be allowed (a partner read through an arrangement is not a place to file).
    const creatable = await ui.vault.access.can(web.actor, out.map((t) => ({ action: 'document.create' as const, resource: collectionResource(t.collection) })));
    return out.filter((_, i) => creatable[i]);
  }

  app.get<{ Querystring: { collection?: string } }>('/upload', async (request, reply) => {
    signedIn(request);
    return render(ui, request, reply, 'upload.njk', { targets: await targets(request), selected: request.query.collection ?? '' });
  });

  app.post('/upload', async (request, reply) => {
    const web = signedIn(request);
    const { fields, files } = await eachFile(ui, request, (name, body, fields) => {
      if (!fields.collectionId) throw new DomainError('INVALID', 'Choose where to put the files.', { details: { field: 'collectionId' } });
      const classification = fields.classification === 'OFFICIAL' || fields.classification === 'OFFICIAL-SENSITIVE' ? { classification: fields.classification as Classification } : {};
      return ui.vault.documents.upload(web.actor, fields.collectionId, { name, body, ...classification });
    });
    const results = files.map(describeUpload);
    if ((request.headers.accept ?? '').includes('application/json')) {
      return reply.status(results.length === 0 ? 400 : 200).send({ files: results });
    }
    if (results.length === 0) {
      return render(ui, request, reply, 'upload.njk', {
        targets: await targets(request), selected: fields.collectionId ?? '', errors: [{ text: 'Choose one or more files to upload', href: '#files' }],
      }, 400);
    }
    return render(ui, request, reply, 'upload-results.njk', { results, collectionId: fields.collectionId ?? null });
  });
};
