// Identity provider commands: add, list, test and remove an organisation's OpenID Connect or SAML 2.0
// provider (docs/identity.md). Run by the operator (the system actor, audited); the client secret is read
// from a file or the environment, never from the command line (it would stay in the shell history and ps).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ProviderInput } from '../../domain/identity/provider-input.js';
import { samlServiceProvider } from '../../domain/identity/saml.js';
import { systemActor } from '../../services/identity.service.js';
import { list, output, say, withVault } from '../context.js';

interface AddOptions {
  org: string; kind: string; name: string; issuer?: string; clientId?: string; clientSecretFile?: string; scopes?: string;
  entryPoint?: string; idpEntityId?: string; idpCertificate: string[]; emailAttribute?: string;
  groupsClaim?: string; mfaAmr?: string; mfaAcr?: string; createAccounts?: boolean; disabled?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

async function clientSecret(opts: AddOptions): Promise<string | undefined> {
  if (opts.clientSecretFile) return (await readFile(opts.clientSecretFile, 'utf8')).trim();
  return process.env.STRONGROOM_IDP_CLIENT_SECRET?.trim() || undefined;
}

export function registerIdpCommands(program: Command): void {
  const idp = program.command('idp').description("an organisation's identity providers: sign-in with Entra ID, Okta, Keycloak… over OpenID Connect or SAML 2.0 (docs/identity.md)");

  idp
    .command('add')
    .description('add an identity provider to an organisation; prints its id')
    .requiredOption('--org <slug>', 'the organisation')
    .requiredOption('--kind <kind>', 'oidc or saml')
    .requiredOption('--name <name>', 'what the sign-in button says after "Sign in with", e.g. "North Shire Council"')
    .option('--issuer <url>', 'oidc: the issuer URL (Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0); https, or http on loopback only')
    .option('--client-id <id>', 'oidc: the client id (Entra ID: "Application (client) ID")')
    .option('--client-secret-file <file>', 'oidc: a file holding the client secret (or set STRONGROOM_IDP_CLIENT_SECRET); stored sealed')
    .option('--scopes <scopes>', 'oidc: space- or comma-separated scopes', 'openid email profile')
    .option('--entry-point <url>', 'saml: the single sign-on URL (Entra ID: "Login URL")')
    .option('--idp-entity-id <id>', 'saml: the provider\'s entity id (Entra ID: "Microsoft Entra Identifier")')
    .option('--idp-certificate <file>', 'saml: the signing certificate, PEM or Base64 (repeat for a rollover)', collect, [])
    .option('--email-attribute <name>', 'saml: the attribute holding the e-mail address when the NameID is not one')
    .option('--groups-claim <name>', 'the claim or attribute listing the person\'s groups (then only people in a mapped group may sign in)')
    .option('--mfa-amr <values>', 'amr values that mean the provider did MFA (Entra ID: mfa), comma-separated')
    .option('--mfa-acr <values>', 'acr values that mean the same, comma-separated')
    .option('--create-accounts', 'create an account at a person\'s first sign-in (just in time)')
    .option('--disabled', 'add it switched off (no sign-in button yet)')
    .addHelpText('after', '\nExample: STRONGROOM_IDP_CLIENT_SECRET=… strongroom idp add --org north-shire --kind oidc --name "North Shire Council" '
      + '--issuer https://login.microsoftonline.com/<tenant>/v2.0 --client-id <app id> --groups-claim groups --mfa-amr mfa')
    .action(async (opts: AddOptions, command: Command) => {
      const certificates = await Promise.all(opts.idpCertificate.map((file) => readFile(file, 'utf8')));
      const input: ProviderInput = {
        kind: opts.kind, name: opts.name, enabled: !opts.disabled, createAccounts: opts.createAccounts ?? false,
        groupsClaim: opts.groupsClaim ?? null, mfaAmrValues: opts.mfaAmr ? list(opts.mfaAmr) : [], mfaAcrValues: opts.mfaAcr ? list(opts.mfaAcr) : [],
        issuer: opts.issuer, clientId: opts.clientId, clientSecret: await clientSecret(opts), scopes: opts.scopes ? [opts.scopes] : [],
        entryPoint: opts.entryPoint, idpEntityId: opts.idpEntityId, idpCertificates: certificates, emailAttribute: opts.emailAttribute ?? null,
      };
      const added = await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        return vault.identityProviders.add(systemActor(), org.id, input);
      });
      say(`Identity provider "${added.name}" added to ${opts.org}.`);
      output(added.id);
    });

  idp
    .command('list')
    .description("an organisation's identity providers: id, kind, name, on/off, issuer or entity id, accounts created at first sign-in")
    .requiredOption('--org <slug>', 'the organisation')
    .action(async (opts: { org: string }, command: Command) => {
      await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        for (const p of await vault.identityProviders.list(systemActor(), org.id)) {
          output([p.id, p.kind, p.name, p.enabled ? 'on' : 'off', p.oidc?.issuer ?? p.saml?.idpEntityId ?? '', p.createAccounts ? 'just-in-time' : 'existing-only'].join('\t'));
        }
      });
    });

  idp
    .command('test')
    .description('check a provider without signing anyone in: OIDC discovery, the redirect URI and the address a sign-in starts at; SAML certificates and the Identifier, Reply URL and Sign on URL to enter at the provider')
    .argument('<id>', 'the provider')
    .requiredOption('--public-url <url>', 'the address people reach Strongroom at (STRONGROOM_PUBLIC_URL), e.g. https://vault.north-shire.gov.uk: the addresses to register at the provider are built from it')
    .action(async (id: string, opts: { publicUrl: string }, command: Command) => {
      const redirectUri = `${opts.publicUrl.replace(/\/+$/, '')}/sign-in/oidc/callback`;
      await withVault(command, async (vault) => {
        const provider = await vault.identityProviders.get(systemActor(), id);
        if (provider.kind === 'oidc') {
          const { discovery, redirectUrl } = await vault.oidcSignIn.check(systemActor(), id, redirectUri);
          say(`Discovery answered for ${provider.oidc!.issuer}.`);
          say(`Authorisation endpoint: ${discovery.authorizationEndpoint}`);
          say(`PKCE S256 advertised: ${discovery.codeChallengeS256 ? 'yes' : 'no (the provider may still accept it)'}`);
          say(`RP-initiated logout: ${discovery.endSessionEndpoint ?? 'not offered (sign-out ends the Strongroom session only)'}`);
          say(`Redirect URI to register at the provider: ${redirectUri}`);
          say('A sign-in would start at (this address is not usable: its state is never accepted):');
          output(redirectUrl);
          return;
        }
        for (const c of vault.identityProviders.certificateFacts(provider)) {
          say(`Signing certificate ${c.subject}: valid ${c.validFrom} to ${c.validTo}${c.expired ? ' — EXPIRED: responses signed with it are refused' : ''}`);
        }
        say(`Entity id: ${provider.saml!.idpEntityId}`);
        // What the IdP's administrators enter (Entra: Basic SAML Configuration), from the public address given.
        const sp = samlServiceProvider(opts.publicUrl, provider.id);
        say(`Identifier (Entity ID) to enter at the provider, also the SP metadata: ${sp.entityId}`);
        say(`Reply URL (Assertion Consumer Service URL): ${sp.acsUrl}`);
        say(`Sign on URL: ${sp.signOnUrl}`);
        say('Sign-in requests go to:');
        output(provider.saml!.entryPoint);
      });
    });

  idp
    .command('remove')
    .description('remove a provider and unlink every account from it (the accounts stay)')
    .argument('<id>', 'the provider')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await withVault(command, (vault) => vault.identityProviders.remove(systemActor(), id));
      say('The identity provider was removed.');
    });
}
