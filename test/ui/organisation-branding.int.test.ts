// An organisation's own brand: its org admin sets the header's name, colour and logo on the Branding
// page; that organisation's own staff see them, and nobody else does (a partner's staff, another
// council's, or anyone fetching the logo's address). Members are refused and the refusal audited;
// hostile logos and unreadable colours are refused word for word; reset brings the default back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { LOGO_REFUSALS } from '../../src/domain/branding/brand.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, createPartnership, openTestVault, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();

const headerOf = (html: string): string => /<header class="govuk-template__header">[\s\S]*?<\/header>/.exec(html)?.[0] ?? '';
const LOGO_IN_HEADER = /<img src="\/branding\/organisation-logo\/([0-9a-f]{64})" alt="" class="sr-brand-logo" height="40">/;
/** A phrase planted in a logo's metadata: it must not survive the re-encoding. */
const PLANTED = 'planted-metadata-phrase';

async function pngLogo(width = 120, height = 40): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#00703c' } })
    .png()
    .withMetadata({ exif: { IFD0: { ImageDescription: PLANTED } } })
    .toBuffer();
}

async function jpegLogo(): Promise<Buffer> {
  return sharp({ create: { width: 80, height: 40, channels: 3, background: '#1d70b8' } })
    .jpeg()
    .withMetadata({ exif: { IFD0: { ImageDescription: PLANTED } } })
    .toBuffer();
}

/** Random pixels compress badly: a PNG well over 200 KB. */
async function oversizePng(): Promise<Buffer> {
  const raw = Buffer.alloc(400 * 400 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width: 400, height: 400, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

const SVG = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>alert(1)</script><rect width="40" height="40"/></svg>\n';

describe.each(DIALECTS)('organisation branding on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let host: TestOrganisation;
  let partner: TestOrganisation;
  let other: TestOrganisation;
  let admin: FormClient;
  let adminId: string;

  async function signedIn(slug: string, roles: string[] = ['member'], teams: string[] = []): Promise<{ client: FormClient; home: string; id: string }> {
    const person = await addPerson(t.vault, slug, { roles, teams });
    const client = new FormClient(base);
    const needsCode = roles.some((r) => r !== 'member');
    const home = await client.signIn(person.email, PASSWORD, needsCode ? await enrolTotp(t.vault, person.id) : undefined);
    return { client, home, id: person.id };
  }

  /** Posts the Branding form as a browser does: multipart, the CSRF token first, the logo (if any) last. */
  async function postBranding(client: FormClient, fields: Record<string, string>, logo?: { bytes: Buffer; name: string; type: string }) {
    const form = new FormData();
    form.append('_csrf', FormClient.csrf((await client.get('/account')).text));
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    if (logo) form.append('logo', new Blob([logo.bytes], { type: logo.type }), logo.name);
    else form.append('logo', new Blob([], { type: 'application/octet-stream' }), '');
    return client.request('POST', '/admin/branding', { body: form });
  }

  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    ({ host, partner } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE' }));
    other = await createOrganisation(t.vault);
    const signed = await signedIn(host.slug, ['org_admin']);
    admin = signed.client;
    adminId = signed.id;
    expect(signed.home).toContain('href="/admin/branding"');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an org admin sets the name, colour and logo, and their own staff see them; the logo is re-encoded without its metadata', async () => {
    const saved = await postBranding(admin, { displayName: '  Borsetshire <County>  Council ', colour: '#1D70B8' }, { bytes: await pngLogo(), name: 'logo.png', type: 'image/png' });
    expect(saved.status).toBe(303);
    expect(saved.location).toBe('/admin/branding?done=saved');
    const done = await admin.get('/admin/branding?done=saved');
    expect(done.text).toContain('The branding was saved. Everyone in your organisation sees it on their next page.');

    const { client, home } = await signedIn(host.slug);
    const header = headerOf(home);
    expect(header).toContain('<span class="sr-brand-name">Borsetshire &lt;County&gt; Council</span>');
    expect(home).toContain('<link rel="stylesheet" href="/branding/header-1d70b8.css">');
    const sha = LOGO_IN_HEADER.exec(header)?.[1];
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    // The member is not offered the Branding page.
    expect(home).not.toContain('href="/admin/branding"');

    const logo = await client.request('GET', `/branding/organisation-logo/${sha}`);
    expect(logo.status).toBe(200);
    expect(logo.headers.get('content-type')).toBe('image/png');
    expect(logo.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(logo.headers.get('x-content-type-options')).toBe('nosniff');
    expect(logo.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    const bytes = Buffer.from(await (await fetch(new URL(`/branding/organisation-logo/${sha}`, base), { headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } })).arrayBuffer());
    expect(bytes.includes(PLANTED)).toBe(false);
    const meta = await sharp(bytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.exif]).toEqual(['png', 120, 40, undefined]);

    // The colour's stylesheet gives white text on it.
    const css = await client.get('/branding/header-1d70b8.css');
    expect(css.text).toContain('--govuk-text-colour:#ffffff');

    // Audited: what changed, the colour, and hashes of the name and logo (never the logo's bytes).
    await t.vault.audit.sequencer.flush();
    const events = await t.vault.store.repos.audit.query({ organisationId: host.id, action: 'organisation.brand', limit: 10 });
    const allowed = events.filter((e) => e.decision === 'allow');
    expect(allowed).toHaveLength(1);
    expect(allowed[0]!.actorUserId).toBe(adminId);
    expect(allowed[0]!.targetIds).toMatchObject({ organisationId: host.id, changed: 'name+colour+logo', colour: '#1d70b8', logoSha256: sha });
    expect(allowed[0]!.targetIds.nameSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('staff of a partner and of another council see their own header, never the host’s, on any page, and cannot fetch its logo', async () => {
    const hostHeader = headerOf((await signedIn(host.slug)).home);
    const sha = LOGO_IN_HEADER.exec(hostHeader)?.[1];
    expect(sha).toBeDefined();
    // The partner has a brand of its own (set by the operator); the other council has none.
    await t.vault.branding.update(systemActor(), partner.slug, { displayName: 'Partner Parish', colour: '#4c2c92' });
    for (const [slug, name] of [[partner.slug, 'Partner Parish'], [other.slug, 'Strongroom']] as const) {
      const { client, home } = await signedIn(slug, ['member'], ['payroll']);
      expect(home).not.toContain('Borsetshire');
      expect(home).not.toContain('/branding/header-1d70b8.css');
      expect(headerOf(home)).not.toContain('/branding/organisation-logo/');
      expect(headerOf(home)).toContain(`<span class="sr-brand-name">${name}</span>`);
      expect((await client.get(`/branding/organisation-logo/${sha}`)).status).toBe(404);
    }
    // The host's payroll staff, on the partner's pages they reach through the arrangement, keep their own brand.
    const { client: hostStaff } = await signedIn(host.slug, ['member'], ['payroll']);
    const partnerPage = await hostStaff.get(`/organisations/${partner.slug}`);
    expect(partnerPage.text).toContain(`/collections/${partner.collections.payroll}`);
    expect(headerOf(partnerPage.text)).toContain('<span class="sr-brand-name">Borsetshire &lt;County&gt; Council</span>');
    expect(partnerPage.text).toContain('/branding/header-1d70b8.css');
    expect(partnerPage.text).not.toContain('Partner Parish');
    expect(partnerPage.text).not.toContain('header-4c2c92.css');
    // Signed out: no logo either.
    expect((await new FormClient(base).get(`/branding/organisation-logo/${sha}`)).status).toBe(404);
  });

  it('refuses a member the page and the change (403, in words), audits the refusal, and changes nothing', async () => {
    const { client, id } = await signedIn(host.slug);
    const page = await client.get('/admin/branding');
    expect(page.status).toBe(403);
    expect(page.text).toContain('Only an org admin can change your organisation’s branding.');
    const post = await postBranding(client, { displayName: 'Hijacked', colour: '#000000' });
    expect(post.status).toBe(403);
    expect(post.text).toContain('Only an org admin can change your organisation’s branding.');
    const reset = await client.post('/admin/branding/reset', { _csrf: FormClient.csrf((await client.get('/account')).text) });
    expect(reset.status).toBe(403);
    await t.vault.audit.sequencer.flush();
    const refusals = await t.vault.store.repos.audit.query({ organisationId: host.id, actorUserId: id, action: 'organisation.brand', limit: 10 });
    expect(refusals.map((e) => [e.decision, e.reason])).toEqual([['deny', 'role'], ['deny', 'role'], ['deny', 'role']]);
    expect(headerOf((await signedIn(host.slug)).home)).toContain('Borsetshire &lt;County&gt; Council');
  });

  it('refuses a change or reset without the form’s CSRF token, even from an org admin, before reading the logo', async () => {
    const csrfMessage = 'This form has expired or did not come from this service. Go back, reload the page and try again.';
    const forged = new FormData();
    forged.append('_csrf', 'not-the-token-of-this-session-at-all');
    forged.append('displayName', 'Forged');
    forged.append('logo', new Blob([await pngLogo()], { type: 'image/png' }), 'logo.png');
    const post = await admin.request('POST', '/admin/branding', { body: forged, headers: { accept: 'text/html' } });
    expect(post.status).toBe(403);
    expect(post.text).toContain(csrfMessage);
    // The logo before the token: refused too.
    const early = new FormData();
    early.append('logo', new Blob([await pngLogo()], { type: 'image/png' }), 'logo.png');
    early.append('_csrf', FormClient.csrf((await admin.get('/account')).text));
    expect((await admin.request('POST', '/admin/branding', { body: early })).status).toBe(403);
    const reset = await admin.post('/admin/branding/reset', { _csrf: 'forged' });
    expect(reset.status).toBe(403);
    expect(reset.text).toContain(csrfMessage);
    const stored = await t.vault.store.repos.branding.get(host.id);
    expect(stored?.displayName).toBe('Borsetshire <County> Council');
  });

  it('refuses an SVG, an oversized or over-large logo, a file that is no image, a bad colour and a pale one, each in words, storing nothing', async () => {
    const cases: { fields: Record<string, string>; logo?: { bytes: Buffer; name: string; type: string }; field: string; message: string }[] = [
      { fields: {}, logo: { bytes: Buffer.from(SVG), name: 'logo.png', type: 'image/png' }, field: 'logo', message: LOGO_REFUSALS.svg },
      { fields: {}, logo: { bytes: await oversizePng(), name: 'logo.png', type: 'image/png' }, field: 'logo', message: LOGO_REFUSALS.tooLarge },
      { fields: {}, logo: { bytes: await pngLogo(1200, 10), name: 'wide.png', type: 'image/png' }, field: 'logo', message: LOGO_REFUSALS.tooBig },
      { fields: {}, logo: { bytes: Buffer.from('GIF89a not really a logo at all'), name: 'logo.png', type: 'image/png' }, field: 'logo', message: LOGO_REFUSALS.notImage },
      { fields: {}, logo: { bytes: Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n'), name: 'logo.jpg', type: 'image/jpeg' }, field: 'logo', message: LOGO_REFUSALS.notImage },
      { fields: { colour: 'red' }, field: 'colour', message: 'Enter the header colour as # followed by 6 hexadecimal digits, for example #1d70b8.' },
      { fields: { colour: '#1d70b8;}*{x' }, field: 'colour', message: 'Enter the header colour as # followed by 6 hexadecimal digits, for example #1d70b8.' },
      {
        fields: { colour: '#FFDD00' }, field: 'colour',
        message: 'The header colour #ffdd00 is too light: white text on it has a contrast ratio of 1.34:1, and it must be at least 4.5:1 to be readable. Choose a darker colour.',
      },
      // GOV.UK's own #1d70b8 passes (5.17:1); #2b8cc4 just fails (3.7:1).
      {
        fields: { colour: '#2b8cc4' }, field: 'colour',
        message: 'The header colour #2b8cc4 is too light: white text on it has a contrast ratio of 3.71:1, and it must be at least 4.5:1 to be readable. Choose a darker colour.',
      },
      { fields: { displayName: 'x'.repeat(81) }, field: 'displayName', message: 'The name in the header must be 80 characters or fewer.' },
      { fields: { displayName: 'Evil\u202eliveC' }, field: 'displayName', message: 'The name in the header cannot contain control or text-direction characters.' },
    ];
    for (const c of cases) {
      const res = await postBranding(admin, { displayName: 'Changed', colour: '#0b0c0c', ...c.fields }, c.logo);
      expect(res.status, c.message).toBe(400);
      expect(res.text).toContain('There is a problem');
      expect(res.text).toContain(`<a href="#${c.field}">${c.message.replace(/&/g, '&amp;').replace(/'/g, '&#39;')}</a>`);
    }
    const stored = await t.vault.store.repos.branding.get(host.id);
    expect([stored?.displayName, stored?.colour]).toEqual(['Borsetshire <County> Council', '#1d70b8']);
    await t.vault.audit.sequencer.flush();
    const allowed = (await t.vault.store.repos.audit.query({ organisationId: host.id, action: 'organisation.brand', limit: 100 })).filter((e) => e.decision === 'allow');
    expect(allowed).toHaveLength(1);
  });

  it('takes a JPEG (re-encoded, its metadata gone), and resets to the default header', async () => {
    const saved = await postBranding(admin, { displayName: 'Borsetshire', colour: '#1d70b8' }, { bytes: await jpegLogo(), name: 'logo', type: 'application/octet-stream' });
    expect(saved.status).toBe(303);
    const stored = await t.vault.store.repos.branding.get(host.id);
    expect(stored?.logo?.type).toBe('image/jpeg');
    expect(stored!.logo!.bytes.includes(PLANTED)).toBe(false);
    expect((await sharp(stored!.logo!.bytes).metadata()).exif).toBeUndefined();
    const oldSha = stored!.logo!.sha256;

    const page = await admin.get('/admin/branding');
    const reset = await admin.post('/admin/branding/reset', { _csrf: FormClient.csrf(page.text) });
    expect(reset.status).toBe(303);
    expect(reset.location).toBe('/admin/branding?done=reset');
    const { client, home } = await signedIn(host.slug);
    expect(headerOf(home)).toMatch(/<span class="sr-brand-name">Strongroom<\/span>/);
    expect(home).not.toContain('/branding/header-');
    expect((await client.get(`/branding/organisation-logo/${oldSha}`)).status).toBe(404);
    await t.vault.audit.sequencer.flush();
    const last = (await t.vault.store.repos.audit.query({ organisationId: host.id, action: 'organisation.brand', limit: 100 })).filter((e) => e.decision === 'allow').at(-1);
    expect(last?.targetIds).toEqual({ organisationId: host.id, changed: 'reset' });
  });
});
