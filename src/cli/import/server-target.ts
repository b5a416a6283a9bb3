// Importing through a running server's REST API (/api/v1) with an API token: the same routes any
// client uses, so the server's own limits, scanning and audit apply. Bodies are streamed from disk
// with their length announced; nothing is buffered. One keep-alive agent with a socket per job.
import type { ReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { openSourceStream } from './source-file.js';
import { FileRefused, ImportFatal, TryAgain, type ExistingDocument, type ImportTarget, type Sent, type SourceFile, type StoredVersion } from './target.js';

interface Answer { status: number; body: Record<string, unknown>; retryAfter: string | undefined }

export class ServerTarget implements ImportTarget {
  readonly description: string;
  private readonly base: URL;
  private readonly agent: http.Agent;

  constructor(server: string, private readonly token: string, jobs: number) {
    let base: URL;
    try {
      base = new URL(server);
    } catch {
      throw new ImportFatal(`--server must be a URL such as https://vault.example.gov.uk, not "${server}".`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ImportFatal(`--server must be an http:// or https:// URL, not "${server}".`);
    this.base = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/`, base);
    this.agent = base.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: jobs }) : new http.Agent({ keepAlive: true, maxSockets: jobs });
    this.description = `${base.origin}`;
  }

  async open(collectionId: string): Promise<void> {
    await this.expect(await this.call('GET', `collections/${encodeURIComponent(collectionId)}`), [200], true);
  }

  async childCollection(parentId: string, name: string, create: boolean): Promise<string | null> {
    const listing = await this.expect(await this.call('GET', `collections/${encodeURIComponent(parentId)}`), [200]);
    const wanted = name.normalize('NFC');
    const existing = (listing.children as { id: string; name: string }[]).find((c) => c.name === wanted);
    if (existing) return existing.id;
    if (!create) return null;
    const body = JSON.stringify({ name, parentId, serviceArea: listing.serviceArea, classification: listing.classification });
    const created = await this.expect(await this.call('POST', 'collections', { json: body }), [201]);
    return created.id as string;
  }

  async documents(collectionId: string): Promise<Map<string, ExistingDocument>> {
    const found = new Map<string, ExistingDocument>();
    let after: string | undefined;
    for (;;) {
      const query = after === undefined ? '' : `?documentsAfter=${encodeURIComponent(after)}`;
      const listing = await this.expect(await this.call('GET', `collections/${encodeURIComponent(collectionId)}${query}`), [200]);
      const documents = listing.documents as { id: string; name: string; sha256: string; status: string }[];
      if (documents.length === 0) return found;
      for (const d of documents) found.set(d.name, { id: d.id, sha256: d.sha256, status: d.status });
      after = documents[documents.length - 1]!.name;
    }
  }

  async versions(documentId: string): Promise<StoredVersion[]> {
    const answer = await this.expect(await this.call('GET', `documents/${encodeURIComponent(documentId)}/versions`), [200]);
    return (answer.versions as StoredVersion[]).map((v) => ({ number: v.number, sha256: v.sha256, scanStatus: v.scanStatus, scanDetail: v.scanDetail }));
  }

  async upload(collectionId: string, file: SourceFile): Promise<Sent> {
    const query = `?name=${encodeURIComponent(file.name)}&sourceModifiedAt=${encodeURIComponent(file.modifiedAt.toISOString())}`;
    return this.sent(await this.call('POST', `collections/${encodeURIComponent(collectionId)}/documents${query}`, { file }));
  }

  async uploadVersion(documentId: string, file: SourceFile): Promise<Sent> {
    const query = `?sourceModifiedAt=${encodeURIComponent(file.modifiedAt.toISOString())}`;
    return this.sent(await this.call('PUT', `documents/${encodeURIComponent(documentId)}/content${query}`, { file }));
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  /** 201/200 stored; 202 held for review; 422 with a signature: malware, quarantined; anything else goes through expect(). */
  private async sent(answer: Answer): Promise<Sent> {
    const b = answer.body;
    if (answer.status === 201 || answer.status === 200) return { outcome: 'imported', documentId: b.id as string, version: b.version as number };
    if (answer.status === 202) return { outcome: 'held', documentId: b.id as string, version: b.version as number, reason: String(b.review ?? 'held for review') };
    if (answer.status === 422 && typeof b.signature === 'string') return { outcome: 'refused', documentId: (b.id as string | undefined) ?? null, reason: `malware (${b.signature}); quarantined` };
    await this.expect(answer, []);
    throw new Error('unreachable');
  }

  /**
   * The answer's body when its status is one of `ok`. Otherwise: 429 waits and retries; a refused
   * token (unknown, or one that can only read), a full disk or a server error stops the whole import (every file after would fail the
   * same way); any other refusal is this file's alone. `fatalAlways`: the opening check, where any
   * refusal (an unknown collection) means there is nothing to import into.
   */
  private async expect(answer: Answer, ok: number[], fatalAlways = false): Promise<Record<string, unknown>> {
    if (ok.includes(answer.status)) return answer.body;
    const detail = typeof answer.body.detail === 'string' ? answer.body.detail : `HTTP ${answer.status}`;
    if (answer.status === 429) throw new TryAgain(detail, retryAfterMs(answer.retryAfter));
    // A 503 with Retry-After is the server's database refusing for a moment (the only 503 that says when to come back).
    const databaseUnavailable = answer.status === 503 && answer.retryAfter !== undefined;
    // A read-only token (403, reason credential_scope) is refused every upload and folder alike: a refused token.
    const readOnlyToken = answer.status === 403 && answer.body.reason === 'credential_scope';
    if (fatalAlways || answer.status === 401 || readOnlyToken || answer.status === 507 || answer.status >= 500) throw new ImportFatal(`the server answered ${answer.status}: ${detail}`, databaseUnavailable);
    throw new FileRefused(detail);
  }

  private async call(method: string, route: string, send: { json?: string; file?: SourceFile } = {}): Promise<Answer> {
    const url = new URL(route, this.base);
    const headers: Record<string, string | number> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (send.json !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(send.json) });
    if (send.file) Object.assign(headers, { 'content-type': 'application/octet-stream', 'content-length': send.file.size });
    const client = url.protocol === 'https:' ? https : http;
    // Opened before the request: only the file the walk found, where it found it (source-file.ts).
    const file: ReadStream | undefined = send.file ? await openSourceStream(send.file) : undefined;
    const answered = new Promise<Answer>((resolve, reject) => {
      const request = client.request(url, { method, headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('error', (error) => reject(new ImportFatal(`the server connection failed: ${error.message}`)));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Record<string, unknown> = {};
          try {
            body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            body = { detail: text.slice(0, 200) };
          }
          resolve({ status: response.statusCode ?? 0, body, retryAfter: response.headers['retry-after'] });
        });
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        // The server refused a body early (a 4xx before it was all sent) and closed: that answer, if it came, wins.
        reject(new ImportFatal(`cannot reach the server at ${this.base.origin}: ${error.code ?? error.message}`));
      });
      if (send.json !== undefined) request.end(send.json);
      else if (file) {
        const body = file;
        body.on('error', (error) => {
          request.destroy();
          reject(error);
        });
        body.pipe(request);
      } else request.end();
    });
    // A body the server refused before it was all sent stays open, paused, once the pipe is broken:
    // close it, or an import keeps one descriptor per refused file.
    return answered.finally(() => {
      if (file && !file.readableEnded) file.destroy();
    });
  }
}

function retryAfterMs(header: string | undefined): number {
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) * 1000 : 1000;
}
