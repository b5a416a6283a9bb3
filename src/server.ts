// Composition of the HTTP server: the REST API (http/app.ts) with the web interface and WebDAV
// mounted beside it. http/ and webdav/ never import each other; this file, beside main.ts, joins them.
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildAppOptions } from './http/app.js';
import { buildHealthApp } from './http/health-app.js';
import { webInterface } from './http/ui/plugin.js';
import type { AppServices } from './services/app-services.js';
import { webdavExtension } from './webdav/plugin.js';

/** The interfaces mounted beside the REST API, in order: WebDAV claims /dav first, then the web pages. */
export const serverExtensions: NonNullable<BuildAppOptions['extensions']> = [webdavExtension, webInterface];

/** The whole server (REST API, web interface, WebDAV) over the services, not yet listening. */
export function buildServer(services: AppServices, options: Omit<BuildAppOptions, 'extensions'> = {}): Promise<FastifyInstance> {
  return buildApp(services, { ...options, extensions: serverExtensions });
}

/** The worker role's server: health, readiness, metrics and the audit key only (http/health-app.ts). */
export { buildHealthApp as buildWorkerServer };
