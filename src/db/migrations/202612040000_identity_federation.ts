// Signing in through an organisation's own identity provider: the providers (OIDC or SAML settings as
// JSON, the OIDC client secret sealed), the accounts linked to a provider's subjects, the organisation's
// directory group → access mapping, and the single-use values a sign-in consumes (SAML assertion ids,
// OIDC states), kept until they expire so a replay is refused on every node.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  await db.schema
    .createTable('identity_providers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    /** JSON: OidcSettings or SamlSettings, by kind. */
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('sealed_secret', caps.binary)
    .addColumn('create_accounts', 'integer', (c) => c.notNull())
    .addColumn('groups_claim', 'text')
    /** JSON lists of the amr and acr values trusted as the provider's own multi-factor authentication. */
    .addColumn('mfa_amr_values', 'text', (c) => c.notNull())
    .addColumn('mfa_acr_values', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('identity_providers_organisation').on('identity_providers').column('organisation_id').execute();

  await db.schema
    .createTable('external_identities')
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('linked_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('external_identities_pk', ['provider_id', 'subject'])
    .execute();
  await db.schema.createIndex('external_identities_user').on('external_identities').column('user_id').execute();

  await db.schema
    .createTable('group_mappings')
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('group_name', 'text', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('teams', 'text', (c) => c.notNull())
    .addColumn('clearance', 'text')
    .addPrimaryKeyConstraint('group_mappings_pk', ['organisation_id', 'group_name'])
    .execute();

  // The e-mail domains the service operator assigned to each organisation: a just-in-time account is made
  // only for an address in one of its own organisation's domains, and a domain belongs to one organisation.
  await db.schema
    .createTable('organisation_email_domains')
    .addColumn('domain', 'text', (c) => c.primaryKey())
    .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
    .addColumn('added_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('organisation_email_domains_organisation').on('organisation_email_domains').column('organisation_id').execute();

  await db.schema
    .createTable('single_use_values')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('single_use_values_expiry').on('single_use_values').column('expires_at').execute();
}
