// A lock's path spells out every folder above what it locks, so a 423 gives it (`lockRoot`) only to
// whoever decide() lets list each of those folders: a partner's serving team may read and version a
// note its partner classified lower than the folder it sits in, without learning that folder's name
// when a lock refuses its write (the attack review of 4 December).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createPartnership, upload } from '../support/vault.js';
import { dav, davUser, openDavServer, type DavServer } from '../webdav/support.js';

const clamd = useClamd();
const SECRET_FOLDER = 'Chief Executive exit settlement 2027';
const lockinfo = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>p</D:owner></D:lockinfo>`;

describe.each(DIALECTS)('a lock\'s path in a 423 on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  async function world() {
    const { host, partner } = await createPartnership(s.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL', serviceArea: 'payroll' });
    const hidden = await s.vault.collectionCreation.create(systemActor(), { organisationId: partner.id, parentId: partner.collections.payroll!, name: SECRET_FOLDER, serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' });
    const partnerStaff = await davUser(s.vault, partner, { teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const partnerColleague = await partner.user({ teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const hostStaff = await host.user({ teams: ['payroll'], clearance: 'OFFICIAL-SENSITIVE' });
    const note = await upload(s.app, partnerStaff, hidden.id, 'covering note.txt', 'Covering note.\n');
    expect(note.statusCode, note.body).toBe(201);
    const documentId = note.json().id as string;
    const lowered = await api(s.app, partnerStaff).post(`documents/${documentId}/classification`, { classification: 'OFFICIAL', reason: 'the note itself is not sensitive' });
    expect(lowered.statusCode, lowered.body).toBe(200);
    expect((await api(s.app, hostStaff).get(`documents/${documentId}`)).statusCode).toBe(200);
    expect((await api(s.app, hostStaff).get(`collections/${hidden.id}`)).statusCode).toBe(404);
    const folderPath = `/dav/${partner.slug}/payroll/${SECRET_FOLDER}`;
    return { partner, partnerStaff, partnerColleague, hostStaff, documentId, folderPath };
  }

  const newVersion = (user: { token: string }, documentId: string) => s.app.inject({
    method: 'PUT', url: `/api/v1/documents/${documentId}/content`,
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/octet-stream' }, payload: 'v2\n',
  });

  it.each([
    ['the folder (Depth: infinity, as Explorer locks one)', true],
    ['the note itself (as Word locks a file it opens)', false],
  ])('gives the lock\'s path to the partner\'s colleague and not to the host\'s staff, when it locks %s', async (_, onFolder) => {
    const w = await world();
    const lockedPath = onFolder ? `${w.folderPath}/` : `${w.folderPath}/covering note.txt`;
    const locked = await dav(s.base, 'LOCK', lockedPath.split('/').map(encodeURIComponent).join('/'), {
      user: w.partnerStaff, headers: { timeout: 'Second-3600', ...(onFolder ? { depth: 'infinity' } : {}) }, body: lockinfo,
    });
    expect(locked.status, locked.body).toBe(200);
    const root = onFolder ? w.folderPath : `${w.folderPath}/covering note.txt`;

    const colleague = expectProblem(await newVersion(w.partnerColleague, w.documentId), 423);
    expect(colleague).toMatchObject({ lockRoot: root });
    const host = expectProblem(await newVersion(w.hostStaff, w.documentId), 423);
    expect(host).not.toHaveProperty('lockRoot');
    expect(JSON.stringify(host)).not.toContain(SECRET_FOLDER);
    expect(host.lockedUntil).toBe(colleague.lockedUntil);
  });
});
