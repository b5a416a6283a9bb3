// A download is decided before its first byte and again every few seconds while it flows: access taken
// away meanwhile stops it there. The API token it came with revoked, or the arrangement that opened
// another council's record suspended, cuts the transfer short (the client sees it incomplete, never a
// part passed off as the whole) and the refusal is audited as any refusal of a download. A download
// whose access holds flows through every re-decision to the last byte. The disposal transfer package
// (every record to transfer, in one zip) is a download too. Real HTTP on both dialects, the
// client holding the transfer back while the test changes access and moves the clock past the interval.
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DECIDED_AGAIN_EVERY_MS } from '../../src/services/decided-while-flowing.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, createPartnership, realClockUnless, upload, type TestUser } from '../support/vault.js';

const clamd = useClamd();
// Larger than what the sockets between server and client hold while the client is not reading.
const SIZE = 48 * 1024 * 1024;

interface Transfer {
  status: number;
  /** Resumes reading after `meanwhile` and resolves once the response is over, whole or cut short. */
  rest(meanwhile: () => Promise<void>): Promise<{ bytes: number; complete: boolean; sha256: string }>;
}

/** A GET whose body is read up to its first chunk and then held until `rest`. */
function heldDownload(port: number, path: string, authorization: string): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { authorization } }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      const over = new Promise<{ bytes: number; complete: boolean; sha256: string }>((done) => {
        res.on('close', () => done({ bytes, complete: res.complete, sha256: hash.digest('hex') }));
      });
      res.on('error', () => undefined);
      res.once('data', (first: Buffer) => {
        res.pause();
        bytes += first.length;
        hash.update(first);
        res.on('data', (d: Buffer) => {
          bytes += d.length;
          hash.update(d);
        });
        resolve({
          status: res.statusCode ?? 0,
          async rest(meanwhile) {
            await meanwhile();
            res.resume();
            return over;
          },
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(DIALECTS)('a download in flight when access is taken away, on %s', (dialect) => {
  const clock = realClockUnless();
  const t = useTestVault(dialect, clamd, { listen: true, clock });
  const port = () => (t.app.server.address() as AddressInfo).port;
  const content = randomBytes(SIZE);
  const sha256 = createHash('sha256').update(content).digest('hex');

  /** The clock moved past the interval, so the next chunk to flow is decided again. */
  const later = (ms = DECIDED_AGAIN_EVERY_MS + 1_000) => clock.set(new Date(clock.now().getTime() + ms).toISOString());
  /** A download held after its first chunk while `meanwhile` takes access away, then let go: it must end cut short. */
  const expectCutShort = async (path: string, authorization: string, meanwhile: () => Promise<void>) => {
    const transfer = await heldDownload(port(), path, authorization);
    expect(transfer.status).toBe(200);
    try {
      const result = await transfer.rest(async () => {
        await meanwhile();
        later();
      });
      expect(result.complete).toBe(false);
      expect(result.bytes).toBeLessThan(SIZE);
    } finally {
      clock.set(null);
    }
  };
  const stored = async (user: TestUser, collectionId: string, name: string) => {
    const up = await upload(t.app, user, collectionId, name, content);
    expect(up.statusCode, up.body).toBe(201);
    while ((await t.vault.worker.runDue()) > 0);
    return up.json().id as string;
  };
  const downloads = async (userId: string) => (await t.vault.store.db.selectFrom('audit_events').select(['decision', 'reason', 'channel']).where('action', '=', 'document.download').where('actor_user_id', '=', userId).orderBy('id').execute())
    .map((e) => ({ decision: e.decision, reason: e.reason, channel: e.channel }));

  it('flows to the last byte, decided again on the way, while access holds', async () => {
    const org = await createOrganisation(t.vault);
    const person = await org.user({ teams: ['payroll'] });
    const id = await stored(person, org.collections.payroll!, 'kept.bin');
    const transfer = await heldDownload(port(), `/api/v1/documents/${id}/content`, `Bearer ${person.token}`);
    expect(transfer.status).toBe(200);
    try {
      const result = await transfer.rest(async () => later());
      expect(result).toEqual({ bytes: SIZE, complete: true, sha256 });
    } finally {
      clock.set(null);
    }
    expect(await downloads(person.id)).toEqual([{ decision: 'allow', reason: 'own_team', channel: 'api' }]);
  });

  it('stops a REST download whose API token is revoked meanwhile, and audits the refusal', async () => {
    const org = await createOrganisation(t.vault);
    const person = await org.user({ teams: ['payroll'] });
    const [token] = await t.vault.credentials.listCredentials(systemActor(), person.id);
    const other = await t.vault.credentials.createCredential(systemActor(), person.id, 'api_token', 'other laptop');
    const id = await stored(person, org.collections.payroll!, 'revoked.bin');
    await expectCutShort(`/api/v1/documents/${id}/content`, `Bearer ${person.token}`, async () => {
      expect((await api(t.app, { token: other.secret }).delete(`me/credentials/${token!.id}`)).statusCode).toBe(204);
    });
    expect(await downloads(person.id)).toEqual([
      { decision: 'allow', reason: 'own_team', channel: 'api' },
      { decision: 'deny', reason: 'credential_revoked', channel: 'api' },
    ]);
  });

  it("stops a WebDAV download of a partner's record when the arrangement is suspended meanwhile, and audits the refusal", async () => {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE' });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const hostTeam = await host.user({ teams: ['payroll'] });
    const appPassword = await t.vault.credentials.createCredential(systemActor(), hostTeam.id, 'app_password', 'mapped drive');
    await stored(partnerStaff, partner.collections.payroll!, 'payslips.bin');
    const basic = `Basic ${Buffer.from(`${hostTeam.email}:${appPassword.secret}`).toString('base64')}`;
    await expectCutShort(`/dav/${partner.slug}/payroll/payslips.bin`, basic, async () => {
      await t.vault.arrangements.suspend(systemActor(), arrangement.id);
    });
    expect(await downloads(hostTeam.id)).toEqual([
      { decision: 'allow', reason: 'arrangement', channel: 'webdav' },
      { decision: 'deny', reason: 'no_arrangement', channel: 'webdav' },
    ]);
  });

  it('stops a transfer package whose records manager’s API token is revoked meanwhile, and audits the refusal', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const [token] = await t.vault.credentials.listCredentials(systemActor(), manager.id);
    const other = await t.vault.credentials.createCredential(systemActor(), manager.id, 'api_token', 'other laptop');
    const id = await stored(member, org.collections.hr!, 'case-file.bin');
    await recordEvent(t.vault, org.id, id, 'process_complete', yearsAgo(2));
    const batch = (await api(t.app, manager).post('disposal/batches', {})).json() as { id: string };
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'transfer' }] })).statusCode).toBe(200);
    await expectCutShort(`/api/v1/disposal/batches/${batch.id}/transfer`, `Bearer ${manager.token}`, async () => {
      expect((await api(t.app, { token: other.secret }).delete(`me/credentials/${token!.id}`)).statusCode).toBe(204);
    });
    const exports = await t.vault.store.db.selectFrom('audit_events').select(['decision', 'reason']).where('action', '=', 'disposal.transfer-export').where('actor_user_id', '=', manager.id).orderBy('id').execute();
    expect(exports).toEqual([{ decision: 'allow', reason: 'records_manager' }, { decision: 'deny', reason: 'credential_revoked' }]);
  });

  it('stops a transfer package whose records manager is cleared below a record in it meanwhile, and audits the refusal', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const id = await stored(member, org.collections.hr!, 'case-file.bin');
    expect((await t.vault.store.repos.documents.byId(id))!.classification).toBe('OFFICIAL-SENSITIVE');
    await recordEvent(t.vault, org.id, id, 'process_complete', yearsAgo(2));
    const batch = (await api(t.app, manager).post('disposal/batches', {})).json() as { id: string };
    expect((await api(t.app, manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: id, decision: 'transfer' }] })).statusCode).toBe(200);
    await expectCutShort(`/api/v1/disposal/batches/${batch.id}/transfer`, `Bearer ${manager.token}`, async () => {
      await t.vault.people.update(systemActor(), manager.id, { clearance: 'OFFICIAL' });
    });
    const refusals = await t.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'reason', 'target_ids']).where('actor_user_id', '=', manager.id).where('decision', '=', 'deny').execute();
    expect(refusals.map((e) => ({ action: e.action, reason: e.reason, documentId: JSON.parse(e.target_ids).documentId }))).toEqual([{ action: 'document.read', reason: 'clearance', documentId: id }]);
  });
});
