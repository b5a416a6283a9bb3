// Identity federation rows: providers, linked identities, group mappings and single-use values.
import type { Kysely, Selectable } from 'kysely';
import type { ExternalIdentity, GroupMapping, IdentityProvider, OidcSettings, ProviderKind, SamlSettings } from '../../domain/identity/federation.js';
import type { FederationRepository } from '../../domain/identity/repositories.js';
import type { SignInSeals } from '../../domain/identity/sign-in-seals.js';
import type { Classification, Role } from '../../domain/types.js';
import type { IdentityProvidersTable, Schema } from '../schema.js';

const toProvider = (r: IdentityProvidersTable): IdentityProvider => {
  const kind = r.kind as ProviderKind;
  const settings = JSON.parse(r.settings) as OidcSettings | SamlSettings;
  return {
    id: r.id, organisationId: r.organisation_id, kind, name: r.name, enabled: r.enabled === 1,
    oidc: kind === 'oidc' ? (settings as OidcSettings) : null,
    saml: kind === 'saml' ? (settings as SamlSettings) : null,
    createAccounts: r.create_accounts === 1, groupsClaim: r.groups_claim,
    mfaAmrValues: JSON.parse(r.mfa_amr_values) as string[], mfaAcrValues: JSON.parse(r.mfa_acr_values) as string[],
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
};

const providerColumns = (p: IdentityProvider) => ({
  organisation_id: p.organisationId, kind: p.kind, name: p.name, enabled: p.enabled ? 1 : 0,
  settings: JSON.stringify(p.kind === 'oidc' ? p.oidc : p.saml),
  create_accounts: p.createAccounts ? 1 : 0, groups_claim: p.groupsClaim,
  mfa_amr_values: JSON.stringify(p.mfaAmrValues), mfa_acr_values: JSON.stringify(p.mfaAcrValues),
  created_at: p.createdAt, updated_at: p.updatedAt,
});

const secretOf = (r: Pick<IdentityProvidersTable, 'sealed_secret'>): Buffer | null => (r.sealed_secret ? Buffer.from(r.sealed_secret) : null);
const toIdentity = (r: Selectable<Schema['external_identities']>): ExternalIdentity => ({ providerId: r.provider_id, subject: r.subject, userId: r.user_id, linkedAt: r.linked_at });

export class FederationRepo implements FederationRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly seals: SignInSeals) {}

  /** Sealed in the same statement (domain/identity/sign-in-seals.ts): a row written any other way signs nobody in. */
  async insertProvider(provider: IdentityProvider, sealedSecret: Buffer | null): Promise<void> {
    await this.db.insertInto('identity_providers')
      .values({ id: provider.id, ...providerColumns(provider), sealed_secret: sealedSecret, seal: this.seals.identityProvider(provider, sealedSecret) }).execute();
  }

  /** Sealed in the same statement; a kept secret is sealed as this transaction reads it. */
  async updateProvider(provider: IdentityProvider, sealedSecret?: Buffer | null): Promise<void> {
    const secret = sealedSecret !== undefined ? sealedSecret : await this.sealedSecret(provider.id);
    await this.db.updateTable('identity_providers')
      .set({ ...providerColumns(provider), ...(sealedSecret === undefined ? {} : { sealed_secret: sealedSecret }), seal: this.seals.identityProvider(provider, secret) })
      .where('id', '=', provider.id).execute();
  }

  async provider(id: string): Promise<IdentityProvider | undefined> {
    const row = await this.db.selectFrom('identity_providers').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toProvider(row);
  }

  async signInProvider(id: string): Promise<(IdentityProvider & { sealed: boolean }) | undefined> {
    const row = await this.db.selectFrom('identity_providers').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const provider = toProvider(row);
    return { ...provider, sealed: this.seals.matches(this.seals.identityProvider(provider, secretOf(row)), row.seal) };
  }

  async sealProviderAsFound(id: string): Promise<void> {
    const row = await this.db.selectFrom('identity_providers').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return;
    await this.db.updateTable('identity_providers').set({ seal: this.seals.identityProvider(toProvider(row), secretOf(row)) }).where('id', '=', id).execute();
  }

  async providers(organisationId: string): Promise<IdentityProvider[]> {
    const rows = await this.db.selectFrom('identity_providers').selectAll().where('organisation_id', '=', organisationId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toProvider);
  }

  async everyProvider(): Promise<{ provider: IdentityProvider; sealedSecret: Buffer | null }[]> {
    const rows = await this.db.selectFrom('identity_providers').selectAll().orderBy('id').execute();
    return rows.map((row) => ({ provider: toProvider(row), sealedSecret: secretOf(row) }));
  }

  async everyIdentity(): Promise<ExternalIdentity[]> {
    const rows = await this.db.selectFrom('external_identities').selectAll().orderBy('provider_id').orderBy('subject').execute();
    return rows.map(toIdentity);
  }

  async sealedSecret(providerId: string): Promise<Buffer | null> {
    const row = await this.db.selectFrom('identity_providers').select('sealed_secret').where('id', '=', providerId).executeTakeFirst();
    return row?.sealed_secret ? Buffer.from(row.sealed_secret) : null;
  }

  async removeProvider(id: string): Promise<void> {
    await this.db.deleteFrom('external_identities').where('provider_id', '=', id).execute();
    await this.db.deleteFrom('identity_providers').where('id', '=', id).execute();
  }

  async identity(providerId: string, subject: string): Promise<ExternalIdentity | undefined> {
    const row = await this.db.selectFrom('external_identities').selectAll().where('provider_id', '=', providerId).where('subject', '=', subject).executeTakeFirst();
    return row && toIdentity(row);
  }

  async signInIdentity(providerId: string, subject: string): Promise<(ExternalIdentity & { sealed: boolean }) | undefined> {
    const row = await this.db.selectFrom('external_identities').selectAll().where('provider_id', '=', providerId).where('subject', '=', subject).executeTakeFirst();
    return row && { ...toIdentity(row), sealed: this.seals.matches(this.seals.federatedLink(toIdentity(row)), row.seal) };
  }

  async sealIdentityAsFound(providerId: string, subject: string): Promise<void> {
    const row = await this.db.selectFrom('external_identities').selectAll().where('provider_id', '=', providerId).where('subject', '=', subject).executeTakeFirst();
    if (!row) return;
    await this.db.updateTable('external_identities').set({ seal: this.seals.federatedLink(toIdentity(row)) })
      .where('provider_id', '=', providerId).where('subject', '=', subject).execute();
  }

  async identitiesOf(userId: string): Promise<ExternalIdentity[]> {
    const rows = await this.db.selectFrom('external_identities').selectAll().where('user_id', '=', userId).orderBy('linked_at').execute();
    return rows.map(toIdentity);
  }

  /** Sealed in the same statement: a link written any other way signs nobody in. */
  async link(identity: ExternalIdentity): Promise<boolean> {
    const result = await this.db.insertInto('external_identities')
      .values({ provider_id: identity.providerId, subject: identity.subject, user_id: identity.userId, linked_at: identity.linkedAt, seal: this.seals.federatedLink(identity) })
      .onConflict((oc) => oc.columns(['provider_id', 'subject']).doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async groupMappings(organisationId: string): Promise<GroupMapping[]> {
    return (await this.db.selectFrom('group_mappings').selectAll().where('organisation_id', '=', organisationId).orderBy('group_name').execute()).map(toGroupMapping);
  }

  async everyGroupMapping(): Promise<GroupMapping[]> {
    return (await this.db.selectFrom('group_mappings').selectAll().orderBy('organisation_id').orderBy('group_name').execute()).map(toGroupMapping);
  }

  async replaceGroupMappings(organisationId: string, mappings: readonly GroupMapping[]): Promise<void> {
    await this.db.deleteFrom('group_mappings').where('organisation_id', '=', organisationId).execute();
    if (mappings.length === 0) return;
    await this.db.insertInto('group_mappings').values(mappings.map((m) => ({
      organisation_id: organisationId, group_name: m.group, roles: JSON.stringify(m.roles), teams: JSON.stringify(m.teams), clearance: m.clearance,
    }))).execute();
  }

  async emailDomains(organisationId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('organisation_email_domains').select('domain').where('organisation_id', '=', organisationId).orderBy('domain').execute();
    return rows.map((r) => r.domain);
  }

  async emailDomainOwner(domain: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('organisation_email_domains').select('organisation_id').where('domain', '=', domain).executeTakeFirst();
    return row?.organisation_id;
  }

  async addEmailDomain(organisationId: string, domain: string, at: string): Promise<boolean> {
    const result = await this.db.insertInto('organisation_email_domains').values({ domain, organisation_id: organisationId, added_at: at })
      .onConflict((oc) => oc.column('domain').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async removeEmailDomain(organisationId: string, domain: string): Promise<boolean> {
    const result = await this.db.deleteFrom('organisation_email_domains').where('organisation_id', '=', organisationId).where('domain', '=', domain).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async useOnce(key: string, expiresAt: string, now: string): Promise<boolean> {
    await this.db.deleteFrom('single_use_values').where('expires_at', '<=', now).execute();
    const result = await this.db.insertInto('single_use_values').values({ key, expires_at: expiresAt })
      .onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }
}

function toGroupMapping(r: Selectable<Schema['group_mappings']>): GroupMapping {
  return {
    organisationId: r.organisation_id, group: r.group_name, roles: JSON.parse(r.roles) as Role[], teams: JSON.parse(r.teams) as string[],
    clearance: r.clearance as Classification | null,
  };
}
