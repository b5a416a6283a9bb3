// HTTP helpers for API suites: requests as a user, problem+json assertions and data-directory walks.
import { readdir, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { auth, type TestUser } from './vault.js';

export interface Api {
  get(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  post(url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  patch(url: string, body?: unknown): Promise<LightMyRequestResponse>;
  put(url: string, body: Buffer | string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  delete(url: string): Promise<LightMyRequestResponse>;
}

/** Requests to /api/v1 as `user` (JSON bodies unless a Buffer or string is given). */
export function api(app: FastifyInstance, user: { token: string }): Api {
  const url = (u: string) => (u.startsWith('/') ? u : `/api/v1/${u}`);
  const json = (body: unknown) => (body === undefined ? {} : { payload: JSON.stringify(body), headers: { ...auth(user), 'content-type': 'application/json' } });
  return {
    get: (u, headers = {}) => app.inject({ method: 'GET', url: url(u), headers: { ...auth(user), ...headers } }),
    post: (u, body, headers = {}) => {
      const j = json(body);
      return app.inject({ method: 'POST', url: url(u), headers: { ...auth(user), ...('headers' in j ? j.headers : {}), ...headers }, ...('payload' in j ? { payload: j.payload } : {}) });
    },
    patch: (u, body) => app.inject({ method: 'PATCH', url: url(u), headers: { ...auth(user), 'content-type': 'application/json' }, payload: JSON.stringify(body ?? {}) }),
    put: (u, body, headers = {}) => app.inject({ method: 'PUT', url: url(u), headers: { ...auth(user), 'content-type': 'application/octet-stream', ...headers }, payload: body }),
    delete: (u) => app.inject({ method: 'DELETE', url: url(u), headers: auth(user) }),
  };
}

/** Asserts an RFC 9457 problem with this status; returns the parsed problem. */
export function expectProblem(res: LightMyRequestResponse, status: number): { status: number; title: string; detail: string; [k: string]: unknown } {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json();
  expect(problem).toMatchObject({ status });
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  expect(problem.detail.length).toBeGreaterThan(0);
  return problem;
}

/** Every regular file under `dir` (recursively); [] when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(full)));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

/** Files under `dir` whose bytes contain `needle`. */
export async function filesContaining(dir: string, needle: Buffer): Promise<string[]> {
  const hits: string[] = [];
  for (const file of await filesUnder(dir)) {
    if ((await readFile(file)).includes(needle)) hits.push(file);
  }
  return hits;
}

/** Uploads as multipart/form-data with the file in field `file`. */
export function uploadMultipart(app: FastifyInstance, user: TestUser, collectionId: string, name: string, body: Buffer) {
  const boundary = `----sr${Math.random().toString(16).slice(2)}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    body,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return app.inject({ method: 'POST', url: `/api/v1/collections/${collectionId}/documents`, headers: { ...auth(user), 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
}

/**
 * Sends a body over real HTTP in chunks without Content-Length (chunked transfer encoding), as a
 * client streaming a file of unknown size would. Resolves with the status and body text.
 */
export function streamOverHttp(port: number, options: { method: string; path: string; headers: Record<string, string>; chunks: number; chunkBytes: number }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: options.method, path: options.path, agent: false, headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    let sent = 0;
    const next = () => {
      if (req.destroyed) return;
      if (sent++ < options.chunks) {
        req.write(Buffer.alloc(options.chunkBytes, 0x42));
        setTimeout(next, 5);
      } else {
        req.end();
      }
    };
    next();
  });
}
