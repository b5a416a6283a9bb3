// The org admin's Branding page (the name, header colour and logo their own staff see), and the
// organisation's logo as those staff's pages fetch it. Whether the page may be used is decide()'s
// (`organisation.brand`, asked by BrandingService); the navigation shows it only where decide() allows.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DISPLAY_NAME_MAX, LOGO_MAX_BYTES } from '../../domain/branding/brand.js';
import { DomainError } from '../../domain/errors.js';
import { brandProblems, type BrandChange } from '../../services/branding.service.js';
import { errorList, organisationLogoUrl, render, requireCsrf, signedIn, type Ui } from './context.js';
import { eachFile } from './multipart.js';

/** Like the deployment's SVG logo: an image opened on its own is a sandboxed document with no script. */
const IMAGE_CSP = "default-src 'none'; sandbox";

const DONE: Record<string, string> = {
  saved: 'The branding was saved. Everyone in your organisation sees it on their next page.',
  reset: 'The branding was reset: your organisation’s pages show the service’s own header again.',
};

type Values = { displayName?: string; colour?: string };

/** The upload's first LOGO_MAX_BYTES + 1 bytes: enough to tell a logo that is too large, never more kept. */
async function logoBytes(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of body) {
    const room = LOGO_MAX_BYTES + 1 - kept;
    if (room <= 0) break;
    const part = Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, room));
    chunks.push(Buffer.from(part));
    kept += part.length;
  }
  return Buffer.concat(chunks);
}

export const organisationBrandingPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const page = async (request: FastifyRequest, reply: FastifyReply, extra: { values?: Values; errors?: unknown[] } = {}, status = 200) => {
    const web = signedIn(request);
    const { organisation, brand } = await ui.vault.branding.settings(web.actor, web.organisation.slug);
    const values: Values = extra.values ?? { displayName: brand?.displayName ?? '', colour: brand?.colour ?? '' };
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    const fieldErrors = Object.fromEntries(((extra.errors ?? []) as { text: string; href: string }[]).map((e) => [e.href.slice(1), e.text]));
    return render(ui, request, reply, 'admin-branding.njk', {
      organisation, current: brand, values, notice: done, errors: extra.errors ?? [], fieldErrors, nameMax: DISPLAY_NAME_MAX,
      logoUrl: brand?.logo ? organisationLogoUrl(brand.logo.sha256) : null,
    }, status);
  };

  app.get('/admin/branding', async (request, reply) => page(request, reply));

  app.post('/admin/branding', async (request, reply) => {
    const web = signedIn(request);
    // decide() first: a person who may not change the branding has no form of theirs read at all.
    await ui.vault.branding.settings(web.actor, web.organisation.slug);
    let logo: Buffer | undefined;
    let fields: Record<string, string | undefined>;
    if (request.isMultipart()) {
      // The CSRF token comes first in the form and is checked before the logo is read (multipart.ts).
      const form = await eachFile(ui, request, async (_name, body) => {
        logo = await logoBytes(body);
      });
      const refused = form.files.find((f) => !f.ok);
      if (refused) throw refused.error;
      fields = form.fields;
    } else {
      // Without a file the form may come URL-encoded (a client that sends no logo).
      fields = (request.body ?? {}) as Record<string, string | undefined>;
    }
    requireCsrf(ui, request, fields._csrf);
    const change: BrandChange = {
      displayName: fields.displayName ?? '',
      colour: fields.colour ?? '',
      ...(fields.removeLogo === 'yes' ? { logo: null } : logo !== undefined ? { logo } : {}),
    };
    try {
      await ui.vault.branding.update(web.actor, web.organisation.slug, change);
      return reply.redirect('/admin/branding?done=saved', 303);
    } catch (error) {
      const problems = brandProblems(error);
      if (problems.length === 0) throw error;
      const errors = problems.map((p) => ({ text: p.message, href: `#${p.field}` }));
      return page(request, reply, { values: { displayName: change.displayName ?? '', colour: change.colour ?? '' }, errors }, 400);
    }
  });

  app.post<{ Body: Record<string, string | undefined> }>('/admin/branding/reset', async (request, reply) => {
    const web = requireCsrf(ui, request, request.body?._csrf);
    try {
      await ui.vault.branding.reset(web.actor, web.organisation.slug);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'INVALID') throw error;
      return page(request, reply, { errors: errorList(error) }, 400);
    }
    return reply.redirect('/admin/branding?done=reset', 303);
  });

  // Only the signed-in person's own organisation's logo, by its hash: nobody fetches another's.
  app.get<{ Params: { sha256: string } }>('/branding/organisation-logo/:sha256', async (request, reply) => {
    const web = request.web;
    const logo = web && /^[0-9a-f]{64}$/.test(request.params.sha256) ? await ui.vault.branding.logo(web.organisation.id, request.params.sha256) : null;
    if (!logo) return reply.status(404).header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send('No such logo.');
    return reply
      .header('Content-Security-Policy', IMAGE_CSP)
      // The hash is in the address, so the bytes there never change; private, as it is one organisation's.
      .header('Cache-Control', 'private, max-age=31536000, immutable')
      .type(logo.type)
      .send(logo.bytes);
  });
};
