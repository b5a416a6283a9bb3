// Unit tests for webdav/conditions.ts: the If header evaluated against locks and ETags, the lock tokens
// a request presents, and If-Match / If-None-Match. No database: the one service call is a stub.
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { Actor, Document } from '../../src/domain/types.js';
import type { ResourceLock } from '../../src/services/locks.service.js';
import { checkIf, notModified, presentedLockTokens, refuseIfNoneMatch, requireIfMatch } from '../../src/webdav/conditions.js';
import type { DavContext, DavServices } from '../../src/webdav/context.js';
import { DavError } from '../../src/webdav/errors.js';
import { davEtag } from '../../src/webdav/properties.js';
import type { Resolved } from '../../src/webdav/resources.js';

const SHA = 'ab'.repeat(32);
const ETAG = davEtag(SHA);
const TOKEN = 'urn:uuid:11111111-2222-3333-4444-555555555555';

const request = (headers: Record<string, string>): FastifyRequest => ({ headers, host: 'dav.example', method: 'PUT' }) as unknown as FastifyRequest;

const documentTarget: Resolved = {
  segments: ['north', 'finance', 'a.txt'], path: '/dav/north/finance/a.txt', kind: 'document',
  org: null, collection: null, document: { id: 'd1', sha256: SHA } as Document, parentExists: true, parent: null,
};

/** A context whose only service answers `locks` for whatever is asked, counting the questions. */
function context(headers: Record<string, string>, locks: Partial<ResourceLock>[] = []) {
  const asked = { count: 0 };
  const dav = { locksApplying: async () => { asked.count++; return locks as ResourceLock[]; } };
  const cx = { request: request(headers), reply: {}, actor: {} as Actor, services: { dav } as unknown as DavServices } as unknown as DavContext;
  return { cx, asked };
}

async function statusOf(work: Promise<unknown> | (() => unknown)): Promise<number> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    if (error instanceof DavError) return error.status;
    throw error;
  }
  return 0;
}

describe('checkIf', () => {
  it('passes without an If header, and without asking for locks', async () => {
    const { cx, asked } = context({});
    expect(await statusOf(checkIf(cx, documentTarget))).toBe(0);
    expect(asked.count).toBe(0);
  });

  it('passes when a list holds: the lock token of a lock that applies, or the current ETag', async () => {
    expect(await statusOf(checkIf(context({ if: `(<${TOKEN}>)` }, [{ token: TOKEN }]).cx, documentTarget))).toBe(0);
    expect(await statusOf(checkIf(context({ if: `([${ETAG}])` }).cx, documentTarget))).toBe(0);
    expect(await statusOf(checkIf(context({ if: `(<urn:uuid:other>) ([${ETAG}])` }).cx, documentTarget))).toBe(0);
    expect(await statusOf(checkIf(context({ if: `(Not <DAV:no-lock>)` }).cx, documentTarget))).toBe(0);
  });

  it('answers 412 when no list holds', async () => {
    expect(await statusOf(checkIf(context({ if: `(<${TOKEN}>)` }, []).cx, documentTarget))).toBe(412);
    expect(await statusOf(checkIf(context({ if: '(["0123"])' }).cx, documentTarget))).toBe(412);
    expect(await statusOf(checkIf(context({ if: `(Not [${ETAG}])` }).cx, documentTarget))).toBe(412);
    expect(await statusOf(checkIf(context({ if: '(<DAV:no-lock>)' }).cx, documentTarget))).toBe(412);
  });

  it('evaluates only the lists tagged with the request resource (or untagged)', async () => {
    const elsewhere = `<http://dav.example/dav/north/finance/b.txt> (<${TOKEN}>)`;
    expect(await statusOf(checkIf(context({ if: elsewhere }, []).cx, documentTarget))).toBe(0);
    const here = `<http://dav.example/dav/north/finance/a.txt> (<${TOKEN}>)`;
    expect(await statusOf(checkIf(context({ if: here }, []).cx, documentTarget))).toBe(412);
    expect(await statusOf(checkIf(context({ if: here }, [{ token: TOKEN }]).cx, documentTarget))).toBe(0);
  });

  it('refuses a malformed If header on a write with 400', async () => {
    expect(await statusOf(checkIf(context({ if: '(<unterminated' }).cx, documentTarget))).toBe(400);
  });
});

describe('presentedLockTokens', () => {
  it('carries the tokens named without Not, and none for an absent or malformed header', () => {
    expect(presentedLockTokens(request({ if: `(<${TOKEN}>) (Not <urn:uuid:not-mine>)` }))).toEqual([TOKEN]);
    expect(presentedLockTokens(request({}))).toEqual([]);
    expect(presentedLockTokens(request({ if: '(<unterminated' }))).toEqual([]);
  });
});

describe('If-Match and If-None-Match', () => {
  it('If-Match: 412 when nothing exists or the ETag differs; `*` and the current ETag pass', async () => {
    expect(await statusOf(() => requireIfMatch(request({}), null))).toBe(0);
    expect(await statusOf(() => requireIfMatch(request({ 'if-match': '*' }), null))).toBe(412);
    expect(await statusOf(() => requireIfMatch(request({ 'if-match': '"other"' }), ETAG))).toBe(412);
    expect(await statusOf(() => requireIfMatch(request({ 'if-match': '*' }), ETAG))).toBe(0);
    expect(await statusOf(() => requireIfMatch(request({ 'if-match': `"x", ${ETAG}` }), ETAG))).toBe(0);
  });

  it('If-None-Match on a write: 412 for `*` or the current ETag, else passes', async () => {
    expect(await statusOf(() => refuseIfNoneMatch(request({ 'if-none-match': '*' }), ETAG))).toBe(412);
    expect(await statusOf(() => refuseIfNoneMatch(request({ 'if-none-match': ETAG }), ETAG))).toBe(412);
    expect(await statusOf(() => refuseIfNoneMatch(request({ 'if-none-match': '"other"' }), ETAG))).toBe(0);
    expect(await statusOf(() => refuseIfNoneMatch(request({}), ETAG))).toBe(0);
  });

  it('If-None-Match on a read: not modified only when it names the current ETag (or `*`)', () => {
    expect(notModified(request({ 'if-none-match': ETAG }), ETAG)).toBe(true);
    expect(notModified(request({ 'if-none-match': `W/${ETAG}` }), ETAG)).toBe(true);
    expect(notModified(request({ 'if-none-match': '"other"' }), ETAG)).toBe(false);
    expect(notModified(request({}), ETAG)).toBe(false);
  });
});
