// The header's brand: the deployment's service name, organisation name, colour and logo
// (STRONGROOM_SERVICE_NAME, _BRAND_NAME, _BRAND_COLOUR, _BRAND_LOGO), served so the strict CSP holds:
// the colour as a small stylesheet, the logo as an image (an SVG never inline, and sandboxed if opened).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.js';
import { COLOUR_PATTERN, textColourOn, type Brand, type LogoType } from '../../domain/branding/brand.js';

/** The deployment's brand, fixed for the life of the process (the logo was checked by loadConfig). */
export interface DeploymentBrand {
  brand: Brand;
  /** The deployment's PNG logo doubles as the favicon (an SVG one would be a document of its own). */
  iconUrl: string | null;
  logo: { bytes: Buffer; type: LogoType } | null;
}

export function deploymentBrand(config: Pick<Config, 'serviceName' | 'brandName' | 'brandColour' | 'brandLogo'>): DeploymentBrand {
  const logo = config.brandLogo ? { bytes: readFileSync(config.brandLogo.file), type: config.brandLogo.type } : null;
  // The content's hash in the address: a changed logo is fetched again after a restart, never a stale one.
  const logoUrl = logo ? `/branding/logo?v=${createHash('sha256').update(logo.bytes).digest('hex').slice(0, 16)}` : null;
  return {
    brand: { serviceName: config.serviceName, organisationName: config.brandName ?? null, colour: config.brandColour?.toLowerCase() ?? null, logoUrl },
    iconUrl: logo?.type === 'image/png' ? logoUrl : null,
    logo,
  };
}

/** Applies to any SVG opened on its own: no script, no fetches, no forms; a sandboxed document. */
const IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

export function brandingRoutes(deployment: DeploymentBrand): FastifyPluginAsync {
  return async (app) => {
    // Any #rrggbb gives the same harmless stylesheet, so it needs no session and caches for good.
    app.get<{ Params: { colour: string } }>('/branding/header-:colour.css', async (request, reply) => {
      const colour = `#${request.params.colour}`.toLowerCase();
      if (!COLOUR_PATTERN.test(colour)) return reply.status(404).type('text/plain; charset=utf-8').send('No such colour.');
      const text = textColourOn(colour);
      const css = `.sr-brand-header.govuk-generic-header{background:${colour};border-bottom-color:${colour};--govuk-text-colour:${text};color:${text}}\n`;
      return reply.header('Cache-Control', 'public, max-age=31536000, immutable').type('text/css; charset=utf-8').send(css);
    });

    app.get('/branding/logo', async (_request, reply) => {
      if (!deployment.logo) return reply.status(404).type('text/plain; charset=utf-8').send('This service has no logo.');
      return reply
        .header('Content-Security-Policy', IMAGE_CSP)
        .header('Cache-Control', 'public, max-age=86400')
        .type(deployment.logo.type)
        .send(deployment.logo.bytes);
    });
  };
}
