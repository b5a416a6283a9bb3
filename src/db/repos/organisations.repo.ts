// Organisations and their wrapped key-encryption keys.
import type { Kysely } from 'kysely';
import { AlreadyExistsError } from '../../domain/errors.js';
import type { OrganisationsRepository } from '../../domain/repositories.js';
import type { Organisation } from '../../domain/types.js';
import { preparedQuery } from '../prepared-query.js';
import type { Schema } from '../schema.js';
import { violatesUnique } from '../unique-violations.js';
import { toOrganisation } from './rows.js';

// Every upload asks for its organisation's file policy and current key, and every WebDAV request
// resolves an organisation by id or by the slug in its path: prepared once.
const organisationById = preparedQuery((db, values: { id: string }) => db.selectFrom('organisations').selectAll().where('id', '=', values.id));
const organisationBySlug = preparedQuery((db, values: { slug: string }) => db.selectFrom('organisations').selectAll().where('slug', '=', values.slug));
const filePolicyOf = preparedQuery((db, values: { id: string }) => db.selectFrom('organisations').select('file_policy').where('id', '=', values.id));
const currentKeyOf = preparedQuery((db, values: { organisationId: string }) =>
  db.selectFrom('organisation_keys').select(['id', 'wrapped']).where('organisation_id', '=', values.organisationId).where('retired_at', 'is', null).orderBy('created_at', 'desc').limit(1));

export class OrganisationsRepo implements OrganisationsRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  /** A slug another request has just taken (organisations.slug is unique): AlreadyExistsError, for the service to answer. */
  async insert(org: Organisation): Promise<void> {
    await this.db
      .insertInto('organisations')
      .values({ id: org.id, slug: org.slug, name: org.name, kind: org.kind, region: org.region, file_policy: null, created_at: org.createdAt })
      .execute()
      .catch((error: unknown) => {
        throw violatesUnique(error, 'organisations', 'slug') ? new AlreadyExistsError('slug', { cause: error }) : error;
      });
  }

  async byId(id: string): Promise<Organisation | undefined> {
    const [row] = (await organisationById.run(this.db, { id })).rows;
    return row && toOrganisation(row);
  }

  async bySlug(slug: string): Promise<Organisation | undefined> {
    const [row] = (await organisationBySlug.run(this.db, { slug })).rows;
    return row && toOrganisation(row);
  }

  async list(): Promise<Organisation[]> {
    return (await this.db.selectFrom('organisations').selectAll().orderBy('name').execute()).map(toOrganisation);
  }

  async filePolicy(id: string): Promise<string | null> {
    const [row] = (await filePolicyOf.run(this.db, { id })).rows;
    return row?.file_policy ?? null;
  }

  /** Stores the organisation's file-policy overrides (JSON over the safe defaults), or null for the defaults. */
  async setFilePolicy(id: string, policy: string | null): Promise<void> {
    await this.db.updateTable('organisations').set({ file_policy: policy }).where('id', '=', id).execute();
  }

  // Organisation key store (see storage/keys.ts).
  async currentKey(organisationId: string): Promise<{ id: string; wrapped: Buffer } | undefined> {
    return (await currentKeyOf.run(this.db, { organisationId })).rows[0];
  }

  async keyById(keyId: string): Promise<{ id: string; organisationId: string; wrapped: Buffer } | undefined> {
    const row = await this.db.selectFrom('organisation_keys').selectAll().where('id', '=', keyId).executeTakeFirst();
    return row && { id: row.id, organisationId: row.organisation_id, wrapped: row.wrapped };
  }

  async insertKey(row: { id: string; organisationId: string; wrapped: Buffer; createdAt: string }): Promise<void> {
    await this.db
      .insertInto('organisation_keys')
      .values({ id: row.id, organisation_id: row.organisationId, wrapped: row.wrapped, created_at: row.createdAt, retired_at: null })
      .execute();
  }

  async retireKeys(organisationId: string, exceptId: string, at: string): Promise<void> {
    await this.db
      .updateTable('organisation_keys')
      .set({ retired_at: at })
      .where('organisation_id', '=', organisationId)
      .where('id', '!=', exceptId)
      .where('retired_at', 'is', null)
      .execute();
  }
}
