// `strongroom idp add|list|test|remove` on both dialects: an OpenID provider checked against a real one
// (discovery, the address a sign-in starts at), a SAML provider's certificate read back, bad settings
// refused with the page's messages, the client secret never in clear in the database, audited changes.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';
import { startOpenIdProvider, type TestOpenIdProvider } from '../identity/oidc-provider.js';

const clamd = useClamd();
const PUBLIC = 'https://vault.north-shire.example';

describe.each(DIALECTS)('idp commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  let idp: TestOpenIdProvider;
  let files: string;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-idp-');
    idp = await startOpenIdProvider(PUBLIC);
    files = await mkdtemp(path.join(tmpdir(), 'sr-idp-files-'));
  });
  afterAll(async () => {
    await idp?.close();
    await place?.remove();
    if (files) await rm(files, { recursive: true, force: true });
  });

  it('assigns e-mail domains to an organisation, one organisation to a domain', { timeout: 120_000 }, async () => {
    const v = await place.open();
    const [north, south] = [await createOrganisation(v.vault), await createOrganisation(v.vault)];
    await closeKeepingData(v);
    const run = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });
    const added = await run(['org', 'domains', '--org', north.slug, '--add', `${north.slug}.GOV.uk`, `@mail.${north.slug}.gov.uk`]);
    expect([added.code, added.stdout.trim().split('\n')]).toEqual([0, [`mail.${north.slug}.gov.uk`, `${north.slug}.gov.uk`]]);
    const taken = await run(['org', 'domains', '--org', south.slug, '--add', `${north.slug}.gov.uk`]);
    expect([taken.code, taken.stderr.trim()]).toEqual([1, `strongroom: The e-mail domain ${north.slug}.gov.uk is already assigned to another organisation. Withdraw it there first if it has moved.`]);
    const removed = await run(['org', 'domains', '--org', north.slug, '--remove', `mail.${north.slug}.gov.uk`]);
    expect([removed.code, removed.stdout.trim()]).toEqual([0, `${north.slug}.gov.uk`]);
    expect((await run(['org', 'domains', '--org', south.slug])).stdout).toBe('');
  });

  it('adds, lists, tests and removes providers of both kinds', { timeout: 300_000 }, async () => {
    const v = await place.open();
    const org = await createOrganisation(v.vault);
    await closeKeepingData(v);
    const run = (args: string[], env: Record<string, string> = {}) => runCli(['--data', place.dataDir, ...args], { env: { ...place.env, ...env } });

    const secretFile = path.join(files, 'secret');
    await writeFile(secretFile, `${idp.clientSecret}\n`);
    const insecure = await run(['idp', 'add', '--org', org.slug, '--kind', 'oidc', '--name', 'North', '--issuer', 'http://login.example.com', '--client-id', 'x', '--client-secret-file', secretFile]);
    expect([insecure.code, insecure.stderr.trim()]).toEqual([1, 'strongroom: The issuer URL must start with https:// (plain http is only allowed for a provider on this machine\'s loopback address)']);
    const noSecret = await run(['idp', 'add', '--org', org.slug, '--kind', 'oidc', '--name', 'North', '--issuer', idp.issuer, '--client-id', idp.clientId]);
    expect([noSecret.code, noSecret.stderr.trim()]).toEqual([1, 'strongroom: Enter the client secret (Entra ID: Certificates & secrets → the secret\'s Value)']);

    const added = await run(['idp', 'add', '--org', org.slug, '--kind', 'oidc', '--name', 'North Shire Council', '--issuer', idp.issuer, '--client-id', idp.clientId,
      '--client-secret-file', secretFile, '--groups-claim', 'groups', '--mfa-amr', 'mfa', '--create-accounts']);
    expect(added.code, added.stderr).toBe(0);
    const oidcId = added.stdout.trim();

    const tested = await run(['idp', 'test', oidcId, '--public-url', `${PUBLIC}/`]);
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stderr).toContain(`Discovery answered for ${idp.issuer}.`);
    expect(tested.stderr).toContain(`Redirect URI to register at the provider: ${PUBLIC}/sign-in/oidc/callback`);
    expect(tested.stderr).toContain(`RP-initiated logout: ${idp.issuer}/session/end`);
    const start = new URL(tested.stdout.trim());
    expect(`${start.origin}${start.pathname}`).toBe(`${idp.issuer}/auth`);
    expect([start.searchParams.get('client_id'), start.searchParams.get('redirect_uri'), start.searchParams.get('code_challenge_method'), start.searchParams.get('scope')])
      .toEqual([idp.clientId, `${PUBLIC}/sign-in/oidc/callback`, 'S256', 'openid email profile']);

    const key = path.join(files, 'idp.key');
    const cert = path.join(files, 'idp.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=North Shire test IdP'], { stdio: 'ignore' });
    const saml = await run(['idp', 'add', '--org', org.slug, '--kind', 'saml', '--name', 'North Shire (SAML)', '--entry-point', 'https://login.example.com/saml2',
      '--idp-entity-id', 'https://sts.example.com/tenant/', '--idp-certificate', cert, '--email-attribute', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress']);
    expect(saml.code, saml.stderr).toBe(0);
    const samlId = saml.stdout.trim();
    const samlTest = await run(['idp', 'test', samlId, '--public-url', `${PUBLIC}/`]);
    expect(samlTest.code, samlTest.stderr).toBe(0);
    expect(samlTest.stderr).toMatch(/Signing certificate CN=North Shire test IdP: valid \S+ to \S+\n/);
    // What Entra's Basic SAML Configuration asks for, built from --public-url (with or without its trailing slash).
    expect(samlTest.stderr).toContain(`Identifier (Entity ID) to enter at the provider, also the SP metadata: ${PUBLIC}/sign-in/saml/${samlId}/metadata\n`);
    expect(samlTest.stderr).toContain(`Reply URL (Assertion Consumer Service URL): ${PUBLIC}/sign-in/saml/${samlId}/acs\n`);
    expect(samlTest.stderr).toContain(`Sign on URL: ${PUBLIC}/sign-in/saml/${samlId}\n`);
    expect(samlTest.stdout.trim()).toBe('https://login.example.com/saml2');

    // serve --help says what the public address is for in sign-in, not only in e-mail.
    const help = await run(['serve', '--help']);
    expect(help.stdout).toContain([
      '  STRONGROOM_PUBLIC_URL  where people reach the service, e.g. https://vault.example.gov.uk: links in e-mail, each SAML',
      '                         provider\'s entity id and reply URL, and the OpenID Connect redirect URI are built from it',
      '                         (needed with SMTP and for SAML sign-in; without it OpenID Connect uses the address the browser used)',
    ].join('\n'));

    const listed = await run(['idp', 'list', '--org', org.slug]);
    expect(listed.code, listed.stderr).toBe(0);
    const byKind = (rows: string[][]) => rows.sort((a, b) => a[1]!.localeCompare(b[1]!));
    expect(byKind(listed.stdout.trim().split('\n').map((l) => l.split('\t')))).toEqual([
      [oidcId, 'oidc', 'North Shire Council', 'on', idp.issuer, 'just-in-time'],
      [samlId, 'saml', 'North Shire (SAML)', 'on', 'https://sts.example.com/tenant/', 'existing-only'],
    ]);

    // Sealed at rest: not in the row, not in any file of the data directory, not in the audit log.
    const opened = await place.open();
    const row = await opened.vault.store.db.selectFrom('identity_providers').selectAll().where('id', '=', oidcId).executeTakeFirstOrThrow();
    expect(Buffer.from(row.sealed_secret!).includes(Buffer.from(idp.clientSecret))).toBe(false);
    const events = await opened.vault.store.db.selectFrom('audit_events').selectAll().where('target_organisation_id', '=', org.id).where('action', 'like', 'identity-provider.%').execute();
    expect(events.map((e) => [e.action, e.decision, e.channel])).toEqual([['identity-provider.add', 'allow', 'cli'], ['identity-provider.add', 'allow', 'cli']]);
    expect(JSON.stringify(events)).not.toContain(idp.clientSecret);
    await closeKeepingData(opened);
    for (const name of await readdir(place.dataDir, { recursive: true })) {
      const file = path.join(place.dataDir, name);
      const bytes = await readFile(file).catch(() => null);
      expect(bytes?.includes(Buffer.from(idp.clientSecret)) ?? false, name).toBe(false);
    }

    const removed = await run(['idp', 'remove', samlId]);
    expect([removed.code, removed.stderr.trim()]).toEqual([0, 'The identity provider was removed.']);
    const gone = await run(['idp', 'remove', samlId]);
    expect([gone.code, gone.stderr.trim()]).toEqual([1, 'strongroom: No identity provider with that id exists, or you do not have access to it.']);
  });
});

// Rows an org admin's page, a hostile provider or a database administrator wrote reach the operator's
// terminal through `idp list` and `idp test`: nothing in them may act on it (clear the screen, set the
// clipboard with OSC 52, turn text round with a bidirectional override). Each is shown as its \uXXXX escape.
describe.each(DIALECTS)('idp commands print outside text inert on %s', (dialect) => {
  let place: SharedVaultPlace;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-idp-esc-');
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('shows control and text-direction characters in a provider written straight into the database as escapes, on stdout and stderr', { timeout: 120_000 }, async () => {
    const v = await place.open();
    const org = await createOrganisation(v.vault);
    const cert = execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-days', '2', '-subj', '/CN=esc'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const now = new Date().toISOString();
    const id = randomUUID();
    await v.vault.store.repos.federation.insertProvider({
      id, organisationId: org.id, kind: 'saml', name: 'North\u001b[2J\u001b]52;c;cm0gLXJmIH4=\u0007\u202eShire', enabled: true, oidc: null,
      saml: { entryPoint: 'https://login.example.com/saml2', idpEntityId: 'https://sts.example.com/\u001b[31mred\u009b0m', idpCertificates: [cert], emailAttribute: null },
      createAccounts: false, groupsClaim: null, mfaAmrValues: [], mfaAcrValues: [], createdAt: now, updatedAt: now,
    }, null);
    await closeKeepingData(v);
    const run = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });

    const listed = await run(['idp', 'list', '--org', org.slug]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toBe(`${id}\tsaml\tNorth\\u001b[2J\\u001b]52;c;cm0gLXJmIH4=\\u0007\\u202eShire\ton\thttps://sts.example.com/\\u001b[31mred\\u009b0m\texisting-only\n`);
    const tested = await run(['idp', 'test', id, '--public-url', 'https://vault.example.test']);
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stderr).toContain('Entity id: https://sts.example.com/\\u001b[31mred\\u009b0m\n');
    expect(`${listed.stdout}${tested.stdout}${tested.stderr}`).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});
