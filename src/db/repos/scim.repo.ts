// SCIM provisioning rows: tokens, what the directory says about people, groups and their members.
import type { Kysely } from 'kysely';
import type { ScimGroup, ScimGroupQuery, ScimPerson, ScimRepository, ScimToken } from '../../domain/identity/scim-repositories.js';
import type { SignInSeals } from '../../domain/identity/sign-in-seals.js';
import type { Schema, ScimGroupsTable, ScimPeopleTable, ScimTokensTable } from '../schema.js';

/** A token's columns but its secret's hash, which only `usableTokens` (for `audit verify`) reads back. */
const TOKEN_COLUMNS = ['id', 'organisation_id', 'name', 'created_at', 'created_by', 'last_used_at', 'revoked_at'] as const;

const toToken = (r: Pick<ScimTokensTable, (typeof TOKEN_COLUMNS)[number]>): ScimToken => ({
  id: r.id, organisationId: r.organisation_id, name: r.name, createdAt: r.created_at, createdBy: r.created_by, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at,
});
const toPerson = (r: ScimPeopleTable): ScimPerson => ({
  userId: r.user_id, organisationId: r.organisation_id, externalId: r.external_id, givenName: r.given_name, familyName: r.family_name, updatedAt: r.updated_at, removedAt: r.removed_at,
});
const toGroup = (r: ScimGroupsTable): ScimGroup => ({
  id: r.id, organisationId: r.organisation_id, displayName: r.display_name, externalId: r.external_id, createdAt: r.created_at, updatedAt: r.updated_at,
});

export class ScimRepo implements ScimRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly seals: SignInSeals) {}

  /** Sealed in the same statement (domain/identity/sign-in-seals.ts): a row written any other way authenticates nobody. */
  async insertToken(token: ScimToken & { secretHash: string }): Promise<void> {
    await this.db.insertInto('scim_tokens').values({
      id: token.id, organisation_id: token.organisationId, name: token.name, secret_hash: token.secretHash, created_at: token.createdAt,
      created_by: token.createdBy, last_used_at: token.lastUsedAt, revoked_at: token.revokedAt, seal: this.seals.scimToken({ ...token, revoked: token.revokedAt !== null }),
    }).execute();
  }

  async tokenBySecretHash(secretHash: string): Promise<(ScimToken & { sealed: boolean }) | undefined> {
    const row = await this.db.selectFrom('scim_tokens').select([...TOKEN_COLUMNS, 'seal']).where('secret_hash', '=', secretHash).executeTakeFirst();
    // Found by this secret hash: sealed over it, not over one read back.
    return row && { ...toToken(row), sealed: this.seals.matches(this.seals.scimToken({ id: row.id, organisationId: row.organisation_id, secretHash, revoked: row.revoked_at !== null }), row.seal) };
  }

  async sealTokenAsFound(id: string): Promise<void> {
    const row = await this.db.selectFrom('scim_tokens').select(['id', 'organisation_id', 'secret_hash', 'revoked_at']).where('id', '=', id).executeTakeFirst();
    if (!row) return;
    await this.db.updateTable('scim_tokens').set({ seal: this.seals.scimToken({ id: row.id, organisationId: row.organisation_id, secretHash: row.secret_hash, revoked: row.revoked_at !== null }) }).where('id', '=', id).execute();
  }

  async token(id: string): Promise<ScimToken | undefined> {
    const row = await this.db.selectFrom('scim_tokens').select(TOKEN_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row && toToken(row);
  }

  async tokenHeld(id: string): Promise<ScimToken | undefined> {
    // An update that sets nothing new, as users.lock: PostgreSQL keeps the row locked to the transaction, so a
    // revocation committed later waits for it.
    await this.db.updateTable('scim_tokens').set((eb) => ({ name: eb.ref('name') })).where('id', '=', id).execute();
    return this.token(id);
  }

  async tokens(organisationId: string): Promise<ScimToken[]> {
    const rows = await this.db.selectFrom('scim_tokens').select(TOKEN_COLUMNS).where('organisation_id', '=', organisationId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toToken);
  }

  async usableTokens(): Promise<(ScimToken & { secretHash: string })[]> {
    const rows = await this.db.selectFrom('scim_tokens').select([...TOKEN_COLUMNS, 'secret_hash']).where('revoked_at', 'is', null).orderBy('id').execute();
    return rows.map((row) => ({ ...toToken(row), secretHash: row.secret_hash }));
  }

  /** Revoked and sealed as revoked in one statement (as credentials are: users.repo.ts `revokeCredential`). */
  async revokeToken(id: string, at: string): Promise<boolean> {
    const row = await this.db.selectFrom('scim_tokens').select(['id', 'organisation_id', 'secret_hash']).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    if (!row) return false;
    const result = await this.db.updateTable('scim_tokens').set({ revoked_at: at, seal: this.seals.scimToken({ id: row.id, organisationId: row.organisation_id, secretHash: row.secret_hash, revoked: true }) })
      .where('id', '=', id).where('revoked_at', 'is', null).where('organisation_id', '=', row.organisation_id).where('secret_hash', '=', row.secret_hash).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touchToken(id: string, at: string): Promise<void> {
    await this.db.updateTable('scim_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async person(userId: string): Promise<ScimPerson | undefined> {
    const row = await this.db.selectFrom('scim_people').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row && toPerson(row);
  }

  async savePerson(p: ScimPerson): Promise<void> {
    const columns = {
      organisation_id: p.organisationId, external_id: p.externalId, given_name: p.givenName, family_name: p.familyName, updated_at: p.updatedAt, removed_at: p.removedAt,
    };
    await this.db.insertInto('scim_people').values({ user_id: p.userId, ...columns })
      .onConflict((oc) => oc.column('user_id').doUpdateSet(columns)).execute();
  }

  async peopleByExternalId(organisationId: string, externalId: string): Promise<ScimPerson[]> {
    const rows = await this.db.selectFrom('scim_people').selectAll().where('organisation_id', '=', organisationId).where('external_id', '=', externalId).orderBy('user_id').execute();
    return rows.map(toPerson);
  }

  async removedUserIds(organisationId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('scim_people').select('user_id').where('organisation_id', '=', organisationId).where('removed_at', 'is not', null).execute();
    return rows.map((r) => r.user_id);
  }

  async insertGroup(g: ScimGroup): Promise<void> {
    await this.db.insertInto('scim_groups').values({
      id: g.id, organisation_id: g.organisationId, display_name: g.displayName, external_id: g.externalId, created_at: g.createdAt, updated_at: g.updatedAt,
    }).execute();
  }

  async updateGroup(g: ScimGroup): Promise<void> {
    await this.db.updateTable('scim_groups').set({ display_name: g.displayName, external_id: g.externalId, updated_at: g.updatedAt }).where('id', '=', g.id).execute();
  }

  async removeGroup(id: string): Promise<void> {
    await this.db.deleteFrom('scim_group_members').where('group_id', '=', id).execute();
    await this.db.deleteFrom('scim_groups').where('id', '=', id).execute();
  }

  async group(id: string): Promise<ScimGroup | undefined> {
    const row = await this.db.selectFrom('scim_groups').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toGroup(row);
  }

  async groups(organisationId: string, query: ScimGroupQuery = {}): Promise<ScimGroup[]> {
    let q = this.db.selectFrom('scim_groups').selectAll().where('organisation_id', '=', organisationId);
    if (query.id !== undefined) q = q.where('id', '=', query.id);
    if (query.displayName !== undefined) q = q.where('display_name', '=', query.displayName);
    if (query.externalId !== undefined) q = q.where('external_id', '=', query.externalId);
    return (await q.orderBy('display_name').orderBy('id').execute()).map(toGroup);
  }

  async members(groupId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('scim_group_members').select('user_id').where('group_id', '=', groupId).orderBy('user_id').execute();
    return rows.map((r) => r.user_id);
  }

  async addMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.db.insertInto('scim_group_members').values([...new Set(userIds)].map((user_id) => ({ group_id: groupId, user_id })))
      .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing()).execute();
  }

  async removeMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.db.deleteFrom('scim_group_members').where('group_id', '=', groupId).where('user_id', 'in', [...userIds]).execute();
  }

  async groupsOf(userId: string): Promise<ScimGroup[]> {
    const rows = await this.db.selectFrom('scim_groups').innerJoin('scim_group_members', 'scim_group_members.group_id', 'scim_groups.id')
      .selectAll('scim_groups').where('scim_group_members.user_id', '=', userId).orderBy('scim_groups.display_name').execute();
    return rows.map(toGroup);
  }
}
