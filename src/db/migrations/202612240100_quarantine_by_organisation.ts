// An organisation's quarantine read from its own versions, not from every council's. The Quarantine page
// (`/admin/quarantine`, any organisation's security admin) and its API list the organisation's infected, held
// and pending versions; the only index by scan status was (scan_status, created_at), so each load read every
// such version of the whole vault, every council's, and kept its own: a bulk import at one council (its
// versions pending scan) or years of destroyed infected versions (which keep their status) made every other
// council's page read them all, on the main connection.
import type { Kysely } from 'kysely';

export const QUARANTINE_BY_ORGANISATION_MIGRATION = '202612240100_quarantine_by_organisation';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('versions_organisation_scan').on('versions').columns(['organisation_id', 'scan_status', 'created_at']).execute();
}
