// The measured workloads: large and small uploads and downloads through the REST API and over
// WebDAV (against Strongroom or Apache), each returning seconds and what it checked.
import type http from 'node:http';
import { describe, keepAliveAgent, request, runPool, type PoolResult } from './http.js';
import { transfer } from './large-transfer.js';
import { sleep } from './strongroom.js';

export interface Endpoint {
  baseUrl: URL;
  authorization: string;
}

const json = <T>(body: Buffer): T => JSON.parse(body.toString('utf8')) as T;

// ------------------------------------------------------------------------------------------ REST

interface UploadAnswer {
  id: string;
  size: number;
  sha256: string;
  status: string;
  scan: string;
}

export async function restLargeUpload(api: Endpoint, collectionId: string, bytes: number, base: Buffer, name: string): Promise<{ seconds: number; answer: UploadAnswer }> {
  const { seconds, value } = await transfer({
    baseUrl: api.baseUrl, method: 'POST', path: `/api/v1/collections/${collectionId}/documents?name=${encodeURIComponent(name)}`,
    headers: { authorization: api.authorization, 'content-type': 'application/octet-stream', 'content-length': bytes },
    timeoutMs: 600_000, bodyBytes: bytes,
  }, base);
  if (value.status !== 201) throw new Error(`large upload: ${describe(value)}`);
  const answer = json<UploadAnswer>(value.body);
  if (answer.size !== bytes) throw new Error(`large upload stored ${answer.size} bytes, sent ${bytes}`);
  return { seconds, answer };
}

/** Polls GET /api/v1/documents/:id every 100 ms until its status is `available`; seconds waited. */
export async function waitAvailable(api: Endpoint, id: string, timeoutMs: number): Promise<{ seconds: number; polls: number }> {
  const agent = keepAliveAgent(1);
  const started = process.hrtime.bigint();
  let polls = 0;
  try {
    for (;;) {
      const r = await request(api.baseUrl, agent, { method: 'GET', path: `/api/v1/documents/${id}`, headers: { authorization: api.authorization } });
      polls++;
      if (r.status !== 200) throw new Error(`document status: ${describe(r)}`);
      const status = json<{ status: string }>(r.body).status;
      if (status === 'available') return { seconds: Number(process.hrtime.bigint() - started) / 1e9, polls };
      if (status === 'quarantined') throw new Error('the benchmark file was quarantined');
      if (Number(process.hrtime.bigint() - started) / 1e6 > timeoutMs) throw new Error(`document ${id} still "${status}" after ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  } finally {
    agent.destroy();
  }
}

export async function restLargeDownload(api: Endpoint, id: string, expected: { size: number; sha256?: string }): Promise<{ seconds: number }> {
  const { seconds, value } = await transfer({
    baseUrl: api.baseUrl, method: 'GET', path: `/api/v1/documents/${id}/content`, headers: { authorization: api.authorization },
    sha256: expected.sha256 !== undefined, timeoutMs: 600_000,
  });
  if (value.status !== 200) throw new Error(`large download: ${describe(value)}`);
  if (value.bytes !== expected.size) throw new Error(`large download returned ${value.bytes} bytes, expected ${expected.size}`);
  if (expected.sha256 && value.sha256 !== expected.sha256) throw new Error('large download: SHA-256 differs from the upload');
  return { seconds };
}

export interface SmallUploads extends PoolResult {
  ids: string[];
  statuses: Record<string, number>;
}

export async function restSmallUploads(api: Endpoint, collectionId: string, files: Buffer[], clients: number, prefix: string): Promise<SmallUploads> {
  const ids: string[] = new Array<string>(files.length);
  const statuses: Record<string, number> = {};
  const result = await runPool(files, clients, async (file, agent, i) => {
    const r = await request(api.baseUrl, agent, {
      method: 'POST', path: `/api/v1/collections/${collectionId}/documents?name=${prefix}-${String(i).padStart(5, '0')}.bin`,
      headers: { authorization: api.authorization, 'content-type': 'application/octet-stream', 'content-length': file.length }, body: file,
    });
    if (r.status !== 201) throw new Error(`small upload ${i}: ${describe(r)}`);
    const answer = json<UploadAnswer>(r.body);
    ids[i] = answer.id;
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
  });
  return { ...result, ids, statuses };
}

export async function restSmallDownloads(api: Endpoint, ids: string[], files: Buffer[], clients: number): Promise<PoolResult> {
  return runPool(ids, clients, async (id, agent, i) => {
    const r = await request(api.baseUrl, agent, { method: 'GET', path: `/api/v1/documents/${id}/content`, headers: { authorization: api.authorization } });
    if (r.status !== 200) throw new Error(`small download ${i}: ${describe(r)}`);
    if (!r.body.equals(files[i] as Buffer)) throw new Error(`small download ${i}: content differs`);
  });
}

// ---------------------------------------------------------------------------------------- WebDAV

/** OPTIONS /dav/: the status code (404 when there is no WebDAV yet). */
export async function davAnswers(dav: Endpoint, root = '/dav/'): Promise<number> {
  const agent = keepAliveAgent(1);
  try {
    const r = await request(dav.baseUrl, agent, { method: 'OPTIONS', path: root, headers: { authorization: dav.authorization }, timeoutMs: 10_000 });
    return r.status;
  } finally {
    agent.destroy();
  }
}

/**
 * Finds the WebDAV folder of a collection by walking PROPFIND Depth: 1 from /dav/ (the URL layout
 * is the WebDAV interface's business, so we look rather than assume).
 */
export async function findDavCollection(dav: Endpoint, names: string[], root = '/dav/'): Promise<string | undefined> {
  const agent = keepAliveAgent(1);
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const seen = new Set<string>();
  let frontier = [root];
  try {
    for (let depth = 0; depth < 4 && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const folder of frontier) {
        if (seen.has(folder)) continue;
        seen.add(folder);
        const r = await request(dav.baseUrl, agent, {
          method: 'PROPFIND', path: folder, timeoutMs: 20_000,
          headers: { authorization: dav.authorization, depth: '1', 'content-type': 'application/xml' },
          body: Buffer.from('<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>'),
        });
        if (r.status !== 207) continue;
        for (const m of r.body.toString('utf8').matchAll(/<(?:[A-Za-z0-9]+:)?href>([^<]+)<\/(?:[A-Za-z0-9]+:)?href>/g)) {
          let href = (m[1] as string).trim();
          if (/^https?:\/\//.test(href)) href = new URL(href).pathname;
          if (!href.endsWith('/') || href === folder || seen.has(href)) continue;
          const last = decodeURIComponent(href.replace(/\/$/, '').split('/').pop() ?? '').toLowerCase();
          if (wanted.has(last)) return href;
          next.push(href);
        }
      }
      frontier = next.slice(0, 50);
    }
    return undefined;
  } finally {
    agent.destroy();
  }
}

export async function davLargePut(dav: Endpoint, url: string, bytes: number, base: Buffer): Promise<number> {
  const { seconds, value } = await transfer({
    baseUrl: dav.baseUrl, method: 'PUT', path: url, timeoutMs: 600_000, bodyBytes: bytes,
    headers: { authorization: dav.authorization, 'content-type': 'application/octet-stream', 'content-length': bytes },
  }, base);
  if (value.status < 200 || value.status > 204) throw new Error(`WebDAV large PUT: ${describe(value)}`);
  return seconds;
}

/** Polls HEAD until 200 (Strongroom answers 423 or similar while the malware scan runs). */
export async function davWaitReadable(dav: Endpoint, url: string, timeoutMs: number): Promise<number> {
  const agent = keepAliveAgent(1);
  const started = Date.now();
  try {
    for (;;) {
      const r = await request(dav.baseUrl, agent, { method: 'HEAD', path: url, headers: { authorization: dav.authorization } });
      if (r.status === 200) return (Date.now() - started) / 1000;
      if (Date.now() - started > timeoutMs) throw new Error(`WebDAV ${url} not readable after ${timeoutMs / 1000} s (HTTP ${r.status})`);
      await sleep(200);
    }
  } finally {
    agent.destroy();
  }
}

export async function davLargeGet(dav: Endpoint, url: string, size: number): Promise<number> {
  const { seconds, value } = await transfer({
    baseUrl: dav.baseUrl, method: 'GET', path: url, headers: { authorization: dav.authorization }, timeoutMs: 600_000,
  });
  if (value.status !== 200 || value.bytes !== size) throw new Error(`WebDAV large GET: HTTP ${value.status}, ${value.bytes} bytes`);
  return seconds;
}

export async function davSmallPuts(dav: Endpoint, folder: string, files: Buffer[], clients: number, prefix: string): Promise<PoolResult> {
  return runPool(files, clients, async (file, agent: http.Agent, i) => {
    const r = await request(dav.baseUrl, agent, {
      method: 'PUT', path: `${folder}${prefix}-${String(i).padStart(5, '0')}.bin`, body: file,
      headers: { authorization: dav.authorization, 'content-type': 'application/octet-stream', 'content-length': file.length },
    });
    if (r.status < 200 || r.status > 204) throw new Error(`WebDAV PUT ${i}: ${describe(r)}`);
  });
}

export async function davSmallGets(dav: Endpoint, folder: string, files: Buffer[], clients: number, prefix: string): Promise<PoolResult> {
  return runPool(files, clients, async (file, agent: http.Agent, i) => {
    const r = await request(dav.baseUrl, agent, { method: 'GET', path: `${folder}${prefix}-${String(i).padStart(5, '0')}.bin`, headers: { authorization: dav.authorization } });
    if (r.status !== 200) throw new Error(`WebDAV GET ${i}: ${describe(r)}`);
    if (!r.body.equals(file)) throw new Error(`WebDAV GET ${i}: content differs`);
  });
}
