// A large file's download reads its sealed chunks through one reused buffer (blob-crypto-streams.ts
// readPlainFrom): a buffer still held by the socket or a consumer when the next chunks are read into it
// would send other chunks' bytes. So a file of many chunks, each with its own contents, is uploaded
// (REST and WebDAV PUT) and read back over real HTTP by a client that reads slowly, whole and as a range
// crossing chunks and reads, by REST and WebDAV GET, and every byte is compared. Folder store, both dialects.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, upload } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from '../webdav/support.js';

const clamd = useClamd();
// About 100 chunks of 64 KiB over seven reads of 16 chunks, the last chunk short.
const SIZE = 6 * 1024 * 1024 + 12_345;

/** A GET read slowly: a pause after every 256 KiB, so the server's socket is full and waits on the reader. */
function slowGet(port: number, path: string, authorization: string, range?: string): Promise<{ status: number; complete: boolean; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization, ...(range !== undefined ? { range } : {}) };
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers }, (res) => {
      const parts: Buffer[] = [];
      let sinceLastPause = 0;
      res.on('data', (part: Buffer) => {
        parts.push(part);
        sinceLastPause += part.length;
        if (sinceLastPause >= 256 * 1024) {
          sinceLastPause = 0;
          res.pause();
          setTimeout(() => res.resume(), 5);
        }
      });
      res.on('error', () => undefined);
      res.on('close', () => resolve({ status: res.statusCode ?? 0, complete: res.complete, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(DIALECTS)('a large file read back slowly through the reused buffer, on %s', (dialect) => {
  let s: DavServer;
  let user: DavUser;
  let slug: string;
  let collectionId: string;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    user = await davUser(s.vault, org, { teams: ['finance'] });
    slug = org.slug;
    collectionId = org.collections.finance!;
  });
  afterAll(async () => {
    await s?.close();
  });

  /** Every 64 KiB chunk differs from every other, so a chunk sent in another's place cannot match. */
  const content = randomBytes(SIZE);
  const bearer = () => `Bearer ${user.token}`;
  const range = { start: 100_000, end: 5_300_000 };
  const expectAll = (got: { status: number; complete: boolean; body: Buffer }, status: number, want: Buffer) => {
    expect(got.status).toBe(status);
    expect(got.complete).toBe(true);
    expect(got.body.length).toBe(want.length);
    expect(got.body.equals(want)).toBe(true);
  };

  it('sends every byte of a REST upload by REST and WebDAV GET, whole and as a range', async () => {
    const up = await upload(s.app, user, collectionId, 'rest-large.bin', content);
    expect(up.statusCode, up.body).toBe(201);
    const id = up.json().id as string;
    const restPath = `/api/v1/documents/${id}/content`;
    const davPath = `/dav/${slug}/finance/rest-large.bin`;
    expectAll(await slowGet(s.port, restPath, bearer()), 200, content);
    expectAll(await slowGet(s.port, davPath, user.basic), 200, content);
    const wanted = content.subarray(range.start, range.end + 1);
    expectAll(await slowGet(s.port, restPath, bearer(), `bytes=${range.start}-${range.end}`), 206, wanted);
    expectAll(await slowGet(s.port, davPath, user.basic, `bytes=${range.start}-${range.end}`), 206, wanted);
  });

  it('sends every byte of a WebDAV PUT by WebDAV GET, two at once', async () => {
    const davPath = `/dav/${slug}/finance/dav-large.bin`;
    expect((await dav(s.base, 'PUT', davPath, { user, body: content })).status).toBe(201);
    const [first, second] = await Promise.all([slowGet(s.port, davPath, user.basic), slowGet(s.port, davPath, user.basic)]);
    expectAll(first!, 200, content);
    expectAll(second!, 200, content);
  });
});
