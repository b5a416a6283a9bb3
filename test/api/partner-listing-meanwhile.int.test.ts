// A partner's staff listing the host's joint workspace (opened to them by a shared-service arrangement), a
// folder of more than one page, when the arrangement is suspended or ended after the first page was read:
// the next page is decided on the arrangement as it is now (CollectionsService.listInPages), so it is not
// sent, the connection is cut (no short answer that looks whole, over WebDAV PROPFIND Depth 1 or REST), and
// the refusal is audited `collection.list` with the partner's person and the host's organisation.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { cloneDocuments } from '../support/cloned-documents.js';
import { useClamd } from '../support/fixture.js';
import { ARRANGEMENT_STOPS, sharedService } from '../support/shared-service.js';
import { DIALECTS } from '../support/vault.js';
import { davUser, openDavServer, type DavServer } from '../webdav/support.js';

const clamd = useClamd();

/** One full page (500) and part of a second; names that need no escaping in XML, JSON or a URL. */
const COUNT = 600;
const WORKSPACE = 'Joint finance';
const LAST_OF_FIRST_PAGE = 'file-00498.txt';
const FIRST_OF_SECOND_PAGE = 'file-00499.txt';

/** The body as far as it came, and how it ended: null when it ended whole. */
async function readToTheEnd(res: Response): Promise<{ received: string; failure: string | null }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let received = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { received, failure: null };
      received += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { received, failure: (error as Error).message };
  }
}

describe.each(DIALECTS)('a partner listing a shared folder while the arrangement stops on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await s?.close();
  });

  /** The host's joint workspace of COUNT documents, a partner's finance officer, and the arrangement's id. */
  async function jointWorkspace() {
    const { host, partner, arrangement } = await sharedService(s.vault);
    const workspace = await s.vault.arrangements.createWorkspace(systemActor(), arrangement.id, WORKSPACE);
    const hostStaff = await davUser(s.vault, host, { teams: ['finance'] });
    const upload = await fetch(`${s.base}/api/v1/collections/${workspace.id}/documents?name=a-template.txt`, {
      method: 'POST', headers: { authorization: `Bearer ${hostStaff.token}`, 'content-type': 'text/plain' }, body: 'template',
    });
    expect(upload.status).toBe(201);
    const template = (await upload.json()) as { id: string };
    await cloneDocuments(s.vault.store.db, template.id, COUNT - 1, (i) => `file-${String(i).padStart(5, '0')}.txt`);
    const partnerStaff = await davUser(s.vault, partner, { teams: ['finance'] });
    return { host, partner, arrangement, workspace, partnerStaff };
  }

  const ways = [
    ['WebDAV PROPFIND Depth 1', 207, (x: Awaited<ReturnType<typeof jointWorkspace>>) =>
      fetch(`${s.base}/dav/${x.host.slug}/${encodeURIComponent(WORKSPACE)}/`, { method: 'PROPFIND', headers: { authorization: x.partnerStaff.basic, depth: '1' } })],
    ['REST GET /collections/:id', 200, (x: Awaited<ReturnType<typeof jointWorkspace>>) =>
      fetch(`${s.base}/api/v1/collections/${x.workspace.id}`, { headers: { authorization: `Bearer ${x.partnerStaff.token}` } })],
  ] as const;

  it.each(ways)('over %s, the whole listing while the arrangement is in force', async (_way, status, list) => {
    const x = await jointWorkspace();
    const res = await list(x);
    expect(res.status).toBe(status);
    const { received, failure } = await readToTheEnd(res);
    expect(failure).toBeNull();
    expect(received).toContain(`file-${String(COUNT - 2).padStart(5, '0')}.txt`);
  });

  describe.each(ARRANGEMENT_STOPS)('the arrangement %s after the first page was read', (_stop, stop) => {
    it.each(ways)('over %s: the next page is not sent, the connection is cut, the refusal audited', async (_way, status, list) => {
      const x = await jointWorkspace();
      // Stopped once the first page's documents were decided (on the arrangement in force), before the next page's.
      const access = s.vault.access;
      const decide = access.filter.bind(access);
      let pagesDecided = 0;
      vi.spyOn(access, 'filter').mockImplementation(async (actor, action, items, resourceOf) => {
        const allowed = await decide(actor, action, items, resourceOf);
        if (action === 'document.read' && actor.userId === x.partnerStaff.id && ++pagesDecided === 1) await stop(s.vault, x.arrangement.id);
        return allowed;
      });
      const res = await list(x);
      expect(res.status).toBe(status);
      const { received, failure } = await readToTheEnd(res);
      expect(failure).toBe('terminated');
      expect(received).toContain(LAST_OF_FIRST_PAGE);
      expect(received).not.toContain(FIRST_OF_SECOND_PAGE);
      expect((await eventsOf(s.vault, x.partnerStaff.id, { deny: true })).map((e) => ({
        action: e.action, reason: e.reason, actorOrganisationId: e.actorOrganisationId, targetOrganisationId: e.targetOrganisationId, targetIds: e.targetIds, arrangementId: e.arrangementId,
      }))).toEqual([{ action: 'collection.list', reason: 'no_arrangement', actorOrganisationId: x.partner.id, targetOrganisationId: x.host.id, targetIds: { collectionId: x.workspace.id }, arrangementId: null }]);
    });
  });
});
