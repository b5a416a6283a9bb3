// A lock that lapses is recorded with its holder's id beside the lock (`holderId`), and that event is in
// the document's access history. Over REST the history gave that id to any reader of the document, a
// partner council's staff included, although the history names people only as decide() lets the reader
// identify them (access-history-people). The holder is now told as the actor is: their id only to those
// who may identify them.
import { describe, expect, it } from 'vitest';
import { actorFor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { createPartnership, upload } from '../support/vault.js';

const clamd = useClamd();
const CLI = { channel: 'cli' as const, clientAddress: null, requestId: null };

interface HistoryEvent { action: string; targetIds: Record<string, string>; clientAddress: string | null; requestId: string | null; who: string }

describe.each(['sqlite', 'postgres'] as const)("a lapsed lock's holder in the access history on %s", (dialect) => {
  const t = useTestVault(dialect, clamd);

  it("is not given by id to the host's team serving a partner, and is to the holder's colleagues", async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const hostTeam = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const colleague = await partner.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, partnerStaff, partner.collections.payroll!, 'slip.csv', 'net\n1\n')).json();
    const document = (await t.vault.store.repos.documents.byId(doc.id))!;
    await t.vault.locks.take(actorFor((await t.vault.store.repos.users.byId(partnerStaff.id))!, CLI), { kind: 'document', document },
      { scope: 'exclusive', depth: '0', owner: null, timeoutSeconds: 600, rootPath: '/x' });
    // The holder leaves the team: the host's next write finds the lock lapsed.
    await t.vault.store.repos.users.update(partnerStaff.id, { teams: [] });
    expect((await api(t.app, hostTeam).put(`documents/${doc.id}/content`, 'net\n2\n')).statusCode).toBe(200);

    const history = async (user: { token: string }) => {
      const res = await api(t.app, user).get(`documents/${doc.id}/access-history`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json().events as HistoryEvent[];
    };
    const seenByHost = await history(hostTeam);
    expect(seenByHost.filter((e) => e.action === 'lock.lapse')).toHaveLength(1);
    // Written by the system during whichever request noticed the lapse: that request's address and id are not shown.
    expect(seenByHost.find((e) => e.action === 'lock.lapse')).toMatchObject({ who: 'system', clientAddress: null, requestId: null });
    expect(JSON.stringify(seenByHost)).not.toContain(partnerStaff.id);
    const seenByColleague = (await history(colleague)).find((e) => e.action === 'lock.lapse')!;
    expect(seenByColleague.targetIds.holderId).toBe(partnerStaff.id);
  });
});
