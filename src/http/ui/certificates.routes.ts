// Web pages for certificates of destruction, beside the disposal review pages (`/disposal/...`, same ids):
// the organisation's register of them, one certificate in words, and its downloads (the signed JSON, which is the evidence, and the PDF paper copy).
import type { FastifyPluginAsync } from 'fastify';
import { render, signedIn, type Ui } from './context.js';

export const certificatePages = (ui: Ui): FastifyPluginAsync => async (app) => {
  app.get('/disposal/certificates', async (request, reply) => {
    const web = signedIn(request);
    const certificates = await ui.vault.certificates.list(web.actor);
    return render(ui, request, reply, 'certificates.njk', { certificates });
  });

  app.get<{ Params: { id: string } }>('/disposal/:id/certificate', async (request, reply) => {
    const web = signedIn(request);
    const issued = await ui.vault.certificates.get(web.actor, request.params.id);
    return render(ui, request, reply, 'certificate.njk', { issued, c: issued.certificate, verifierKey: ui.vault.audit.proofs.verifierKey });
  });

  app.get<{ Params: { id: string } }>('/disposal/:id/certificate.json', async (request, reply) => {
    const web = signedIn(request);
    const issued = await ui.vault.certificates.get(web.actor, request.params.id);
    return reply.type('application/json; charset=utf-8').header('Content-Disposition', `attachment; filename="certificate-of-destruction-${issued.id}.json"`)
      .header('Cache-Control', 'no-store').send(issued.json);
  });

  app.get<{ Params: { id: string } }>('/disposal/:id/certificate.pdf', async (request, reply) => {
    const web = signedIn(request);
    const { certificate, stream } = await ui.vault.certificates.pdf(web.actor, request.params.id);
    return reply.type('application/pdf').header('Content-Disposition', `attachment; filename="certificate-of-destruction-${certificate.id}.pdf"`)
      .header('Cache-Control', 'no-store').send(stream);
  });
};
