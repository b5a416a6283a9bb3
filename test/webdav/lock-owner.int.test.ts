// The owner a WebDAV client writes into its LOCK request (Windows puts the account name there, Office
// the person's name) says who holds the lock. PROPFIND's lockdiscovery shows it only to those decide()
// lets identify the holder (their colleagues, the owning organisation's admins), as the 423 and the
// REST lock listing name the holder; anyone else, such as the partner whose folder the host's team
// locked, sees the lock without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { createPartnership } from '../support/vault.js';
import { dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();

const OWNER = '<D:href>mailto:jo.bloggs@host.example</D:href>';
const lockinfo = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${OWNER}</D:owner></D:lockinfo>`;
/** How the server writes the owner back (the client's XML, re-serialised). */
const SHOWN_OWNER = '<D:owner><href xmlns="DAV:">mailto:jo.bloggs@host.example</href></D:owner>';
const lockdiscovery = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>';

describe.each(['sqlite', 'postgres'] as const)('lock owner in lockdiscovery on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  async function lockedPartnerFolder() {
    const { host, partner } = await createPartnership(s.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const holder: DavUser = await davUser(s.vault, host, { teams: ['payroll'] });
    const locked = await dav(s.base, 'LOCK', `/dav/${partner.slug}/payroll/`, { user: holder, headers: { timeout: 'Second-3600', depth: 'infinity' }, body: lockinfo });
    expect(locked.status, locked.body).toBe(200);
    expect(locked.body).toContain('jo.bloggs@host.example');
    return { host, partner, holder };
  }

  const discover = async (user: DavUser, path: string, depth: '0' | '1') => {
    const res = await dav(s.base, 'PROPFIND', path, { user, headers: { depth, 'content-type': 'application/xml' }, body: lockdiscovery });
    expect(res.status, res.body).toBe(207);
    expect(res.body).toContain('<D:activelock>');
    return res.body;
  };

  it("does not show the partner's staff who holds a lock the host's team took on their folder", async () => {
    const l = await lockedPartnerFolder();
    const partnerStaff = await davUser(s.vault, l.partner, { teams: ['payroll'] });
    for (const [path, depth] of [[`/dav/${l.partner.slug}/payroll/`, '0'], [`/dav/${l.partner.slug}/`, '1']] as const) {
      const body = await discover(partnerStaff, path, depth);
      expect(body).not.toContain('jo.bloggs');
      expect(body).not.toContain('<D:owner>');
    }
  });

  it("shows the holder's colleagues and the owning organisation's admins the lock's owner", async () => {
    const l = await lockedPartnerFolder();
    const colleague = await davUser(s.vault, l.host, { teams: ['payroll'] });
    expect(await discover(colleague, `/dav/${l.partner.slug}/payroll/`, '0')).toContain(SHOWN_OWNER);
    const partnerAdmin = await davUser(s.vault, l.partner, { teams: ['payroll'], roles: ['member', 'org_admin'] });
    expect(await discover(partnerAdmin, `/dav/${l.partner.slug}/payroll/`, '0')).toContain(SHOWN_OWNER);
    expect(await discover(l.holder, `/dav/${l.partner.slug}/payroll/`, '0')).toContain(SHOWN_OWNER);
  });
});
