// REST: certificates of destruction, as the signed JSON (the evidence) or a PDF (the paper copy).
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppServices } from '../../services/app-services.js';
import { bearerActor } from '../plugins/authenticate.js';

/** Ids are UUIDs; anything else is not a batch (answered 404 like an unknown one, by the service). */
const batchParams = z.object({ id: z.string().min(1).max(100) });

export const certificatesRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/disposal/batches/:id/certificate', {
    schema: {
      tags: ['disposal'],
      summary: 'The certificate of destruction of an executed disposal batch (records manager, auditor, dpo of its organisation)',
      description: 'JSON by default: the signed certificate, checkable offline with `strongroom audit check CERT.json --key PUB`. '
        + '`?format=pdf` gives the paper copy (GOV.UK-styled PDF), which carries the JSON\'s SHA-256. 409 while the batch has not been carried out.',
      params: batchParams,
      querystring: z.object({ format: z.enum(['json', 'pdf']).optional() }),
    },
  }, async (request, reply) => {
    const actor = await bearerActor(vault.identity, request);
    const { id } = request.params;
    if (request.query.format === 'pdf') {
      const { certificate, stream } = await vault.certificates.pdf(actor, id);
      return reply.type('application/pdf').header('Content-Disposition', `attachment; filename="certificate-of-destruction-${certificate.id}.pdf"`)
        .header('Cache-Control', 'no-store').send(stream);
    }
    const certificate = await vault.certificates.get(actor, id);
    return reply.type('application/json; charset=utf-8').header('Content-Disposition', `attachment; filename="certificate-of-destruction-${certificate.id}.json"`)
      .header('Cache-Control', 'no-store').header('X-Certificate-SHA256', certificate.jsonSha256).send(certificate.json);
  });

  r.get('/disposal/certificates', {
    schema: { tags: ['disposal'], summary: 'Certificates of destruction of your organisation, newest first (records manager, auditor, dpo)' },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    const certificates = await vault.certificates.list(actor);
    return { certificates: certificates.map((c) => ({ ...c, links: { json: `/api/v1/disposal/batches/${c.batchId}/certificate`, pdf: `/api/v1/disposal/batches/${c.batchId}/certificate?format=pdf` } })) };
  });
};
