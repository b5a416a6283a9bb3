// Binds acceptance to terms: adds `terms_revision` (the revision that last set the terms), and repairs
// arrangements whose parties table drifted from their newest revision (amendments used to record a new
// partner list without applying it), sending them back to draft so every partner consents again.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

// Changes (as worded by ArrangementsService) that set the terms rather than the status.
const TERMS_CHANGES = /^(proposed|created|amended|repaired)\b/;

interface Snapshot {
  partnerOrganisationIds?: string[];
  [key: string]: unknown;
}

export async function up(db: Kysely<any>, _caps: DialectCaps): Promise<void> {
  await db.schema.alterTable('arrangements').addColumn('terms_revision', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await alignArrangementsWithTheirTerms(db, new Date().toISOString());
}

/**
 * Sets each arrangement's terms revision from its history and, where the parties table is not the
 * partner list of the terms last set, applies that list. Exported for its test.
 */
export async function alignArrangementsWithTheirTerms(db: Kysely<any>, now: string): Promise<void> {
  const arrangements = await db.selectFrom('arrangements').selectAll().execute();
  for (const a of arrangements) {
    const revisions = await db.selectFrom('arrangement_revisions').select(['revision', 'change', 'snapshot']).where('arrangement_id', '=', a.id).orderBy('revision').execute();
    // The partner list the host last set. Later snapshots cannot be trusted for it: an acceptance
    // snapshotted the drifted parties table, so it would "confirm" a partner the host had removed.
    const terms = revisions.filter((r) => TERMS_CHANGES.test(r.change)).at(-1);
    const termsRevision = terms ? Number(terms.revision) : 1;
    const intended = terms ? [...new Set((JSON.parse(terms.snapshot) as Snapshot).partnerOrganisationIds ?? [])].sort() : null;
    const stored = (await db.selectFrom('arrangement_parties').select('organisation_id').where('arrangement_id', '=', a.id).execute()).map((p) => String(p.organisation_id)).sort();
    if (!intended || intended.length === 0 || JSON.stringify(intended) === JSON.stringify(stored)) {
      await db.updateTable('arrangements').set({ terms_revision: termsRevision }).where('id', '=', a.id).execute();
      continue;
    }

    // The policy has been reading partners the host no longer intends: apply the revision's list, and
    // ask every partner to accept again (an acceptance given under the drifted list proves nothing).
    const revision = Number(a.revision) + 1;
    const status = a.status === 'ended' ? 'ended' : 'draft';
    await db.deleteFrom('arrangement_parties').where('arrangement_id', '=', a.id).execute();
    for (const organisationId of intended) {
      await db.insertInto('arrangement_parties').values({ arrangement_id: a.id, organisation_id: organisationId, accepted_at: null, accepted_by: null }).execute();
    }
    await db.updateTable('arrangements').set({ status, revision, terms_revision: revision, updated_at: now }).where('id', '=', a.id).execute();
    const snapshot = {
      id: a.id, hostOrganisationId: a.host_organisation_id, partnerOrganisationIds: intended, serviceArea: a.service_area, purpose: a.purpose,
      lawfulBasis: a.lawful_basis, agreementReference: a.agreement_reference, accessLevel: a.access_level, ceiling: a.ceiling, startsAt: a.starts_at,
      endsAt: a.ends_at, annualSavingPounds: Number(a.annual_saving_pounds), status, acceptedBy: [], revision, termsRevision: revision,
      createdAt: a.created_at, updatedAt: now,
    };
    await db.insertInto('arrangement_revisions').values({
      arrangement_id: a.id, revision, change: `repaired: partners set to those of revision ${termsRevision} (partners must accept again)`,
      snapshot: JSON.stringify(snapshot), changed_by: null, changed_at: now,
    }).execute();
    await db.insertInto('audit_events').values({
      seq: null, leaf_hash: null, time: now, actor_user_id: null, actor_organisation_id: null, action: 'arrangement.repaired',
      target_organisation_id: a.host_organisation_id, target_ids: JSON.stringify({ arrangementId: a.id, revision: String(revision) }), document_id: null,
      decision: 'allow', reason: 'migration', arrangement_id: null, channel: 'job', client_address: null, request_id: null,
    }).execute();
  }
}
