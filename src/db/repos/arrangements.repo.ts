// Shared-service arrangements, their parties, and every revision of their terms.
import type { Kysely } from 'kysely';
import type { ArrangementRevision, ArrangementsRepository } from '../../domain/repositories.js';
import type { Arrangement } from '../../domain/types.js';
import { preparedQuery } from '../prepared-query.js';
import type { Schema } from '../schema.js';
import { toArrangement } from './rows.js';

import type { ArrangementFilter } from '../../domain/repositories.js';

export type { ArrangementFilter } from '../../domain/repositories.js';

function arrangementIdsInvolving(db: Kysely<Schema>, organisationIds: string[]) {
  return db
    .selectFrom('arrangements')
    .select('id')
    .where((eb) =>
      eb.or([
        eb('host_organisation_id', 'in', organisationIds),
        eb('id', 'in', eb.selectFrom('arrangement_parties').select('arrangement_id').where('organisation_id', 'in', organisationIds)),
      ]),
    );
}

/**
 * Every access decision asks for the arrangements involving the actor's organisation, and the
 * resource's when it is another's: one or two organisations, so those two statements are prepared.
 */
const idsInvolving = [1, 2].map((count) =>
  preparedQuery((db, values: Record<string, string>) =>
    arrangementIdsInvolving(db, Array.from({ length: count }, (_, i) => values[`organisation${i}`] as string))));

export class ArrangementsRepo implements ArrangementsRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(a: Arrangement, createdBy: string | null): Promise<void> {
    await this.db
      .insertInto('arrangements')
      .values({
        id: a.id, host_organisation_id: a.hostOrganisationId, service_area: a.serviceArea, purpose: a.purpose,
        lawful_basis: a.lawfulBasis, agreement_reference: a.agreementReference, access_level: a.accessLevel,
        ceiling: a.ceiling, starts_at: a.startsAt, ends_at: a.endsAt, annual_saving_pounds: a.annualSavingPounds,
        status: a.status, revision: a.revision, terms_revision: a.termsRevision, created_by: createdBy, created_at: a.createdAt, updated_at: a.updatedAt,
      })
      .execute();
    for (const partner of a.partnerOrganisationIds) {
      const accepted = a.acceptedBy.includes(partner);
      await this.db
        .insertInto('arrangement_parties')
        .values({ arrangement_id: a.id, organisation_id: partner, accepted_at: accepted ? a.createdAt : null, accepted_by: accepted ? createdBy : null })
        .execute();
    }
  }

  async byId(id: string): Promise<Arrangement | undefined> {
    const row = await this.db.selectFrom('arrangements').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const parties = await this.db.selectFrom('arrangement_parties').select(['organisation_id', 'accepted_at']).where('arrangement_id', '=', id).execute();
    return toArrangement(row, parties);
  }

  /** Every arrangement an organisation is a party to, or that concerns a given organisation. Read fresh per request. */
  async involving(organisationIds: string[]): Promise<Arrangement[]> {
    if (organisationIds.length === 0) return [];
    const prepared = idsInvolving[organisationIds.length - 1];
    const ids = prepared
      ? (await prepared.run(this.db, Object.fromEntries(organisationIds.map((id, i) => [`organisation${i}`, id])))).rows
      : await arrangementIdsInvolving(this.db, organisationIds).execute();
    return this.many(ids.map((r) => r.id));
  }

  async list(filter: ArrangementFilter): Promise<Arrangement[]> {
    let q = this.db.selectFrom('arrangements').select('arrangements.id');
    if (filter.organisationId) {
      const org = filter.organisationId;
      q = q.where((eb) =>
        eb.or([
          eb('host_organisation_id', '=', org),
          eb('arrangements.id', 'in', eb.selectFrom('arrangement_parties').select('arrangement_id').where('organisation_id', '=', org)),
        ]),
      );
    }
    if (filter.serviceArea) q = q.where('service_area', '=', filter.serviceArea);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.region) {
      const region = filter.region;
      q = q.where('host_organisation_id', 'in', (eb) => eb.selectFrom('organisations').select('id').where('region', '=', region));
    }
    const ids = await q.orderBy('arrangements.created_at').execute();
    return this.many(ids.map((r) => r.id));
  }

  private async many(ids: string[]): Promise<Arrangement[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('arrangements').selectAll().where('id', 'in', ids).orderBy('created_at').execute();
    const parties = await this.db.selectFrom('arrangement_parties').select(['arrangement_id', 'organisation_id', 'accepted_at']).where('arrangement_id', 'in', ids).execute();
    return rows.map((row) => toArrangement(row, parties.filter((p) => p.arrangement_id === row.id)));
  }

  /**
   * Writes the arrangement row and its parties exactly as `a` says (partners added and removed,
   * acceptances set and cleared), if the stored revision is still `expectedRevision`. Returns false
   * when another change got there first, so a decision taken on an older revision is never written.
   */
  async save(a: Arrangement, expectedRevision: number, changedBy: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable('arrangements')
      .set({
        purpose: a.purpose, lawful_basis: a.lawfulBasis, agreement_reference: a.agreementReference, access_level: a.accessLevel,
        ceiling: a.ceiling, starts_at: a.startsAt, ends_at: a.endsAt, annual_saving_pounds: a.annualSavingPounds,
        status: a.status, revision: a.revision, terms_revision: a.termsRevision, updated_at: a.updatedAt, service_area: a.serviceArea,
      })
      .where('id', '=', a.id)
      .where('revision', '=', expectedRevision)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;

    const partners = new Set(a.partnerOrganisationIds);
    const stored = await this.db.selectFrom('arrangement_parties').select(['organisation_id', 'accepted_at']).where('arrangement_id', '=', a.id).execute();
    const removed = stored.map((p) => p.organisation_id).filter((id) => !partners.has(id));
    if (removed.length > 0) await this.db.deleteFrom('arrangement_parties').where('arrangement_id', '=', a.id).where('organisation_id', 'in', removed).execute();
    for (const partner of partners) {
      const accepted = a.acceptedBy.includes(partner);
      const row = stored.find((p) => p.organisation_id === partner);
      if (!row) {
        await this.db
          .insertInto('arrangement_parties')
          .values({ arrangement_id: a.id, organisation_id: partner, accepted_at: accepted ? a.updatedAt : null, accepted_by: accepted ? changedBy : null })
          .execute();
      } else if (accepted !== (row.accepted_at !== null)) {
        // Who accepted and when is kept from the moment of acceptance; only a change of state rewrites it.
        await this.db
          .updateTable('arrangement_parties')
          .set({ accepted_at: accepted ? a.updatedAt : null, accepted_by: accepted ? changedBy : null })
          .where('arrangement_id', '=', a.id)
          .where('organisation_id', '=', partner)
          .execute();
      }
    }
    return true;
  }

  async addRevision(r: { arrangementId: string; revision: number; change: string; snapshot: Arrangement; changedBy: string | null; changedAt: string }): Promise<void> {
    await this.db
      .insertInto('arrangement_revisions')
      .values({ arrangement_id: r.arrangementId, revision: r.revision, change: r.change, snapshot: JSON.stringify(r.snapshot), changed_by: r.changedBy, changed_at: r.changedAt })
      .execute();
  }

  async revisions(arrangementId: string): Promise<ArrangementRevision[]> {
    const rows = await this.db.selectFrom('arrangement_revisions').selectAll().where('arrangement_id', '=', arrangementId).orderBy('revision').execute();
    return rows.map((r) => ({ revision: r.revision, change: r.change, changedBy: r.changed_by, changedAt: r.changed_at, snapshot: JSON.parse(r.snapshot) as Arrangement }));
  }
}
