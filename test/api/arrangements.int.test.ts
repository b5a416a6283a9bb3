// Shared-service arrangements over HTTP: what the host's serving team can do with a partner's
// documents before (draft), during (active), while suspended and after (ended) an arrangement,
// at each access level; and the hostile cases around ids, service areas, ceilings and acceptance.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import type { Classification } from '../../src/domain/types.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';

const clamd = useClamd();

type Level = 'read' | 'contribute' | 'manage';
type Phase = 'draft' | 'active' | 'suspended' | 'ended';
const ACTIONS = ['list collection', 'read metadata', 'download', 'upload version', 'rename', 'delete', 'restore'] as const;
type ActionName = (typeof ACTIONS)[number];
const NEEDS: Record<ActionName, Level> = {
  'list collection': 'read', 'read metadata': 'read', download: 'read', 'upload version': 'contribute', rename: 'manage', delete: 'manage', restore: 'manage',
};
const RANK: Record<Level, number> = { read: 0, contribute: 1, manage: 2 };

interface Parties {
  host: TestOrganisation;
  partner: TestOrganisation;
  unrelated: TestOrganisation;
  hostAdmin: TestUser;
  partnerAdmin: TestUser;
  hostPayroll: TestUser;
  partnerPayroll: TestUser;
  unrelatedPayroll: TestUser;
}

async function parties(t: TestVault, partnerAreas?: Record<string, Classification>, region?: string): Promise<Parties> {
  const host = await createOrganisation(t.vault, region ? { region } : {});
  const partner = await createOrganisation(t.vault, partnerAreas ? { areas: partnerAreas } : {});
  const unrelated = await createOrganisation(t.vault);
  return {
    host, partner, unrelated,
    hostAdmin: await host.user({ roles: ['org_admin'] }),
    partnerAdmin: await partner.user({ roles: ['org_admin'] }),
    hostPayroll: await host.user({ teams: ['payroll'] }),
    partnerPayroll: await partner.user({ teams: ['payroll'] }),
    unrelatedPayroll: await unrelated.user({ teams: ['payroll'] }),
  };
}

async function propose(t: TestVault, p: Parties, terms: { accessLevel: Level; ceiling?: Classification; serviceArea?: string; annualSavingPounds?: number }) {
  const res = await api(t.app, p.hostAdmin).post('arrangements', {
    partners: [p.partner.slug], serviceArea: terms.serviceArea ?? 'payroll', purpose: 'Payroll processing for the partner council',
    lawfulBasis: 'UK GDPR Art 6(1)(e) public task', agreementReference: 'DSA-2026-01', accessLevel: terms.accessLevel,
    ceiling: terms.ceiling ?? 'OFFICIAL-SENSITIVE', annualSavingPounds: terms.annualSavingPounds ?? 1000,
  });
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json()).toMatchObject({ status: 'draft' });
  return res.json().id as string;
}

async function toPhase(t: TestVault, p: Parties, id: string, phase: Phase): Promise<void> {
  if (phase === 'draft') return;
  const accepted = await acceptAsReviewed(t, p.partnerAdmin, id);
  expect(accepted.statusCode, accepted.body).toBe(200);
  expect(accepted.json().status).toBe('active');
  if (phase === 'suspended') expect((await api(t.app, p.partnerAdmin).post(`arrangements/${id}/suspend`)).json().status).toBe('suspended');
  if (phase === 'ended') expect((await api(t.app, p.hostAdmin).post(`arrangements/${id}/end`)).json().status).toBe('ended');
}

/** Accepts naming the revision the partner's admin has just read, as a client reviewing the terms would. */
async function acceptAsReviewed(t: TestVault, admin: TestUser, id: string) {
  const revision = (await api(t.app, admin).get(`arrangements/${id}`)).json().arrangement?.revision ?? 1;
  return api(t.app, admin).post(`arrangements/${id}/accept`, { revision });
}

/** A fresh live document and a deleted one in the partner's payroll collection, for one actor to act on. */
async function documentsFor(t: TestVault, p: Parties, label: string) {
  const body = Buffer.from(`employee,net\n${label},100\n`);
  const live = (await upload(t.app, p.partnerPayroll, p.partner.collections.payroll!, `${label}-live.csv`, body)).json();
  const gone = (await upload(t.app, p.partnerPayroll, p.partner.collections.payroll!, `${label}-gone.csv`, body)).json();
  expect((await api(t.app, p.partnerPayroll).delete(`documents/${gone.id}`)).statusCode).toBe(204);
  return { live: live.id as string, gone: gone.id as string, body };
}

/** What each action answers when it is allowed (a refusal is always 404). */
const ALLOWED_STATUS: Record<ActionName, number> = {
  'list collection': 200, 'read metadata': 200, download: 200, 'upload version': 200, rename: 200, delete: 204, restore: 200,
};

async function attempt(t: TestVault, p: Parties, actor: TestUser, action: ActionName, docs: { live: string; gone: string; body: Buffer }, label: string): Promise<number> {
  const as = api(t.app, actor);
  switch (action) {
    case 'list collection': {
      const res = await as.get(`collections/${p.partner.collections.payroll}`);
      if (res.statusCode === 200) expect(res.json().documents.map((d: { id: string }) => d.id)).toContain(docs.live);
      return res.statusCode;
    }
    case 'read metadata':
      return (await as.get(`documents/${docs.live}`)).statusCode;
    case 'download': {
      const res = await as.get(`documents/${docs.live}/content`);
      if (res.statusCode === 200) expect(res.rawPayload.equals(docs.body)).toBe(true);
      return res.statusCode;
    }
    case 'upload version':
      return (await as.put(`documents/${docs.live}/content`, Buffer.from(`employee,net\n${label},200\n`))).statusCode;
    case 'rename':
      return (await as.patch(`documents/${docs.live}`, { name: `${label}-renamed.csv` })).statusCode;
    case 'delete':
      return (await as.delete(`documents/${docs.live}`)).statusCode;
    case 'restore':
      return (await as.post(`documents/${docs.gone}/restore`)).statusCode;
  }
}

describe.each(DIALECTS)('arrangements over HTTP on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  describe.each(['read', 'contribute', 'manage'] as const)('%s-level arrangement', (level) => {
    // The same three organisations throughout; each phase gets its own arrangement, ended afterwards
    // (an ended arrangement grants nothing, which the 'ended' case itself checks).
    let p: Parties;
    beforeAll(async () => {
      p = await parties(t);
    });

    it.each(['draft', 'active', 'suspended', 'ended'] as const)('while %s: own team yes, serving team only as the level allows, unrelated never', async (phase) => {
      const id = await propose(t, p, { accessLevel: level });
      await toPhase(t, p, id, phase);
      try {
        await matrix(id, phase);
      } finally {
        if (phase !== 'ended') expect((await api(t.app, p.hostAdmin).post(`arrangements/${id}/end`)).statusCode).toBe(200);
      }
    });

    async function matrix(_id: string, phase: Phase): Promise<void> {
      const actors: [string, TestUser, (a: ActionName) => boolean][] = [
        ['own', p.partnerPayroll, () => true],
        ['host', p.hostPayroll, (a) => phase === 'active' && RANK[level] >= RANK[NEEDS[a]]],
        ['unrelated', p.unrelatedPayroll, () => false],
      ];
      const table: string[] = [];
      const failures: string[] = [];
      for (const [who, actor, allowed] of actors) {
        const docs = await documentsFor(t, p, `${who}-${randomUUID().slice(0, 6)}`);
        const ownerView = api(t.app, p.partnerPayroll);
        const before = (await ownerView.get(`documents/${docs.live}`)).json();
        let changed = false;
        for (const action of ACTIONS) {
          const status = await attempt(t, p, actor, action, docs, who);
          const expected = allowed(action);
          const want = expected ? ALLOWED_STATUS[action] : 404;
          table.push(`${who} ${action}: ${status}`);
          if (status !== want) failures.push(`${phase}/${level}: ${who} ${action} gave ${status}, expected ${want}`);
          if (expected && action !== 'list collection' && action !== 'read metadata' && action !== 'download') changed = true;
        }
        if (!changed) {
          // Every write was refused: the document is exactly as it was.
          const after = (await ownerView.get(`documents/${docs.live}`)).json();
          expect(after, `${who} changed nothing`).toEqual(before);
          expect((await ownerView.get(`documents/${docs.gone}`)).json().deletedAt).not.toBeNull();
        }
      }
      expect(failures, table.join('\n')).toEqual([]);
    }
  });

  it('does not open other collections, other service areas or other organisations by guessed ids', async () => {
    const p = await parties(t);
    const id = await propose(t, p, { accessLevel: 'manage' });
    await toPhase(t, p, id, 'active');
    const payrollDoc = (await upload(t.app, p.partnerPayroll, p.partner.collections.payroll!, 'pay.csv', 'a')).json().id;
    const hrUser = await p.partner.user({ teams: ['hr'] });
    const hrDoc = (await upload(t.app, hrUser, p.partner.collections.hr!, 'grievance.txt', 'confidential')).json().id;
    const unrelatedDoc = (await upload(t.app, p.unrelatedPayroll, p.unrelated.collections.payroll!, 'theirs.csv', 'b')).json().id;
    // The serving team is also in hr at home: the payroll arrangement still does not open the partner's hr.
    const hostBoth = await p.host.user({ teams: ['payroll', 'hr'] });
    for (const actor of [p.hostPayroll, hostBoth]) {
      const as = api(t.app, actor);
      expect((await as.get(`documents/${payrollDoc}`)).statusCode).toBe(200);
      expectProblem(await as.get(`collections/${p.partner.collections.hr}`), 404);
      expectProblem(await as.get(`documents/${hrDoc}`), 404);
      expectProblem(await as.get(`documents/${hrDoc}/content`), 404);
      expectProblem(await as.patch(`documents/${hrDoc}`, { name: 'x.txt' }), 404);
      expectProblem(await upload(t.app, actor, p.partner.collections.hr!, 'planted.txt', 'x'), 404);
      // The unrelated organisation is not a party at all.
      expectProblem(await as.get(`collections/${p.unrelated.collections.payroll}`), 404);
      expectProblem(await as.get(`documents/${unrelatedDoc}`), 404);
      expectProblem(await as.delete(`documents/${unrelatedDoc}`), 404);
    }
    // Nor does it work backwards: the partner's team cannot reach the host's payroll.
    const hostDoc = (await upload(t.app, p.hostPayroll, p.host.collections.payroll!, 'host-own.csv', 'h')).json().id;
    expectProblem(await api(t.app, p.partnerPayroll).get(`documents/${hostDoc}`), 404);
    expectProblem(await api(t.app, p.partnerPayroll).get(`collections/${p.host.collections.payroll}`), 404);
  });

  it('hides a document above the arrangement’s ceiling', async () => {
    const p = await parties(t, { payroll: 'OFFICIAL', hr: 'OFFICIAL-SENSITIVE' });
    const id = await propose(t, p, { accessLevel: 'manage', ceiling: 'OFFICIAL' });
    await toPhase(t, p, id, 'active');
    const official = (await upload(t.app, p.partnerPayroll, p.partner.collections.payroll!, 'rota.csv', 'o')).json();
    const sensitive = (await t.app.inject({
      method: 'POST', url: `/api/v1/collections/${p.partner.collections.payroll}/documents?name=salaries.csv&classification=OFFICIAL-SENSITIVE`,
      headers: { authorization: `Bearer ${p.partnerPayroll.token}`, 'content-type': 'application/octet-stream' }, payload: 's',
    })).json();
    expect((await api(t.app, p.partnerPayroll).get(`documents/${sensitive.id}`)).json().classification).toBe('OFFICIAL-SENSITIVE');
    const as = api(t.app, p.hostPayroll);
    expect((await as.get(`documents/${official.id}`)).statusCode).toBe(200);
    expect((await as.get(`documents/${official.id}/content`)).statusCode).toBe(200);
    expectProblem(await as.get(`documents/${sensitive.id}`), 404);
    expectProblem(await as.get(`documents/${sensitive.id}/content`), 404);
    expectProblem(await as.patch(`documents/${sensitive.id}`, { name: 'x.csv' }), 404);
    const listing = await as.get(`collections/${p.partner.collections.payroll}`);
    expect(listing.statusCode).toBe(200);
    expect(listing.json().documents.map((d: { id: string }) => d.id)).toEqual([official.id]);
  });

  it('lets only the host amend, only the partner accept (once), and applies an end or suspension on the very next request', async () => {
    const p = await parties(t);
    const id = await propose(t, p, { accessLevel: 'read' });
    const doc = (await upload(t.app, p.partnerPayroll, p.partner.collections.payroll!, 'slip.csv', 'net\n1\n')).json().id;
    const partnerAdmin = api(t.app, p.partnerAdmin);
    const hostAdmin = api(t.app, p.hostAdmin);

    // The partner cannot widen the terms, in draft or later.
    expectProblem(await partnerAdmin.patch(`arrangements/${id}`, { accessLevel: 'manage', serviceArea: 'hr' }), 400);
    // The host cannot accept on the partner's behalf.
    expectProblem(await hostAdmin.post(`arrangements/${id}/accept`, { revision: 1 }), 400);
    expect((await hostAdmin.get(`arrangements/${id}`)).json().arrangement).toMatchObject({ status: 'draft', accessLevel: 'read', serviceArea: 'payroll', acceptedBy: [] });
    expectProblem(await api(t.app, p.hostPayroll).get(`documents/${doc}`), 404);
    // A member of the partner (not its org admin) cannot accept either; nor can the unrelated organisation.
    expectProblem(await api(t.app, p.partnerPayroll).post(`arrangements/${id}/accept`, { revision: 1 }), 400);
    const outsiderAdmin = await p.unrelated.user({ roles: ['org_admin'] });
    expectProblem(await api(t.app, outsiderAdmin).post(`arrangements/${id}/accept`, { revision: 1 }), 404);

    expect((await acceptAsReviewed(t, p.partnerAdmin, id)).json().status).toBe('active');
    expectProblem(await acceptAsReviewed(t, p.partnerAdmin, id), 400);
    expectProblem(await partnerAdmin.patch(`arrangements/${id}`, { accessLevel: 'manage' }), 400);
    expectProblem(await hostAdmin.patch(`arrangements/${id}`, { accessLevel: 'manage' }), 400);
    expect((await hostAdmin.get(`arrangements/${id}`)).json().arrangement).toMatchObject({ status: 'active', accessLevel: 'read' });

    const as = api(t.app, p.hostPayroll);
    expect((await as.get(`documents/${doc}/content`)).statusCode).toBe(200);
    expect((await partnerAdmin.post(`arrangements/${id}/suspend`)).json().status).toBe('suspended');
    expectProblem(await as.get(`documents/${doc}/content`), 404);
    // Resuming needs the partner's acceptance again; the host cannot reopen access alone.
    expect((await hostAdmin.post(`arrangements/${id}/resume`)).json().status).toBe('draft');
    expectProblem(await as.get(`documents/${doc}/content`), 404);
    expect((await acceptAsReviewed(t, p.partnerAdmin, id)).json().status).toBe('active');
    expect((await as.get(`documents/${doc}/content`)).statusCode).toBe(200);
    expect((await partnerAdmin.post(`arrangements/${id}/end`)).json().status).toBe('ended');
    expectProblem(await as.get(`documents/${doc}/content`), 404);
    expectProblem(await as.get(`collections/${p.partner.collections.payroll}`), 404);
    expectProblem(await acceptAsReviewed(t, p.partnerAdmin, id), 400);
    expectProblem(await as.get(`documents/${doc}`), 404);
  });

  it('reports savings and partners by service area and region, as JSON and CSV', async () => {
    const region = `Region ${randomUUID().slice(0, 8)}`;
    const p = await parties(t, undefined, region);
    const id = await propose(t, p, { accessLevel: 'read', annualSavingPounds: 123456 });
    const viewer = api(t.app, p.hostPayroll);
    const rowFor = async () => ((await viewer.get('arrangements/report')).json().byRegion as { key: string }[]).find((r) => r.key === region);
    expect(await rowFor()).toBeUndefined(); // drafts are not counted
    await toPhase(t, p, id, 'active');
    const json = await viewer.get('arrangements/report');
    expect(json.statusCode).toBe(200);
    const report = json.json();
    expect(report.byRegion.find((r: { key: string }) => r.key === region)).toEqual({ key: region, arrangements: 1, partnerOrganisations: 1, annualSavingPounds: 123456 });
    expect(report.byServiceArea.find((r: { key: string }) => r.key === 'payroll').annualSavingPounds).toBeGreaterThanOrEqual(123456);
    expect(report.totals.arrangements).toBeGreaterThanOrEqual(1);

    const csv = await viewer.get('arrangements/report?format=csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('grouping,key,arrangements,partner_organisations,annual_saving_pounds');
    expect(lines).toContain(`region,${region},1,1,123456`);
    expect(lines.at(-1)).toMatch(/^total,all,\d+,\d+,\d+$/);

    await api(t.app, p.hostAdmin).post(`arrangements/${id}/end`);
    expect(await rowFor()).toBeUndefined();
  });
});
