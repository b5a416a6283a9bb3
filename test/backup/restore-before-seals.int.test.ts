// A backup made before sign-in seals (migration 202612150000_sign_in_seals), restored by this version: the
// restore loads its rows at their own schema and the open that follows migrates on, sealing them in the
// seals' migration (compose/sign-in-seals.ts), and, first, the events sequenced before event seals. Migrating on without it left every seal null: nobody could
// sign in and no token worked. On SQLite and PostgreSQL.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreBackup } from '../../src/backup-restore.js';
import { loadConfig } from '../../src/config/config.js';
import { SIGN_IN_SEALS_MIGRATION } from '../../src/db/migrations/202612150000_sign_in_seals.js';
import { SEQUENCED_EVENT_SEALS_MIGRATION } from '../../src/db/migrations/202612271940_sequenced_event_seals.js';
import { AWAITING_REPLICA } from '../../src/db/migrations/202612230100_versions_awaiting_replica.js';
import { REPLICA_LAG_BY_ORGANISATION_MIGRATION } from '../../src/db/migrations/202612281300_replica_lag_by_organisation.js';
import { useClamd } from '../support/fixture.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { closeKeepingData, openVaultAt } from '../support/vault-dir.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation } from '../support/vault.js';
import { enrolTotp, totp } from '../ui/support.js';

const clamd = useClamd();
const silent = pino({ level: 'silent' });
const from = { channel: 'web', clientAddress: '198.51.100.60', requestId: 'restore-before-seals' } as const;

describe.each(DIALECTS)('a backup from before sign-in seals, restored, on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('signs its people in and its tokens work, sealed once, their authenticator secrets encrypted', { timeout: 120_000 }, async () => {
    const work = await mkdtemp(path.join(tmpdir(), 'sr-seals-restore-'));
    dirs.push(work, `${work}/data-offsite`);
    const dataDir = path.join(work, 'data');
    await mkdir(dataDir);
    const database = async () => {
      if (dialect !== 'postgres') return null;
      const db = await createTestDatabase('srseal');
      databases.push(db);
      return db;
    };
    const live = await database();
    const env = { ...(live ? { STRONGROOM_DATABASE_URL: live.url } : {}), STRONGROOM_OFFSITE: `${dataDir}-offsite` };
    let v = await openVaultAt(dataDir, clamd.socketPath, env);
    const org = await createOrganisation(v.vault);
    const admin = await org.user({ roles: ['org_admin'], teams: ['hr'] });
    const secret = await enrolTotp(v.vault, admin.id);
    // The database as the release before seals left it: no seals' columns, the migration not applied, secrets in clear;
    // and its events, in the tree and signed, as a release from before event seals left them: unsealed.
    await v.vault.audit.sequencer.flush();
    const db = v.vault.store.db;
    await db.updateTable('audit_events').set({ seal: null }).where('seq', 'is not', null).execute();
    const stored = await db.selectFrom('users').select('mfa_secret').where('id', '=', admin.id).executeTakeFirstOrThrow();
    await db.updateTable('users').set({ mfa_secret: v.vault.store.repos.users.openTotpSecret(admin.id, stored.mfa_secret!) }).where('id', '=', admin.id).execute();
    for (const [table, column] of [['users', 'password_seal'], ['users', 'mfa_seal'], ['credentials', 'seal'], ['scim_tokens', 'seal'], ['identity_providers', 'seal'], ['external_identities', 'seal']] as const) {
      await db.schema.alterTable(table).dropColumn(column).execute();
    }
    await sql`delete from schema_migrations where name = ${SIGN_IN_SEALS_MIGRATION}`.execute(db);
    // Nor any migration after seals: undone, newest first (a backup's migrations are a prefix of the known list).
    await db.schema.dropIndex('versions_awaiting_replica_by_organisation').execute();
    await db.schema.createIndex('versions_awaiting_replica').on('versions').column('created_at').where(AWAITING_REPLICA).execute();
    await sql`delete from schema_migrations where name = ${REPLICA_LAG_BY_ORGANISATION_MIGRATION}`.execute(db);
    await sql`delete from schema_migrations where name = ${SEQUENCED_EVENT_SEALS_MIGRATION}`.execute(db);
    for (const column of ['early_reason', 'kind']) await db.schema.alterTable('disposal_batches').dropColumn(column).execute();
    await sql`delete from schema_migrations where name = '202612260100_early_destruction'`.execute(db);
    for (const index of ['documents_live_name_key', 'collections_live_child_name_key', 'collections_live_top_name_key']) await db.schema.dropIndex(index).execute();
    for (const table of ['documents', 'collections']) for (const column of ['name_key', 'name_key_duplicate']) await db.schema.alterTable(table).dropColumn(column).execute();
    await sql`delete from schema_migrations where name = '202612260000_live_name_keys'`.execute(db);
    await db.schema.dropIndex('documents_organisation_id').execute();
    await sql`delete from schema_migrations where name = '202612250400_documents_by_organisation_id'`.execute(db);
    await db.schema.dropIndex('subject_access_parts_hold').execute();
    await sql`delete from schema_migrations where name = '202612250300_subject_access_parts_hold'`.execute(db);
    await db.schema.dropIndex('jobs_finished').execute();
    await sql`delete from schema_migrations where name = '202612250200_finished_jobs'`.execute(db);
    await db.schema.dropIndex('audit_events_organisation_records').execute();
    await sql`delete from schema_migrations where name = '202612250100_organisation_record_events'`.execute(db);
    await db.schema.dropIndex('documents_bin').execute();
    await sql`delete from schema_migrations where name = '202612250000_bin_by_organisation'`.execute(db);
    await db.schema.dropIndex('versions_organisation_scan').execute();
    await sql`delete from schema_migrations where name = '202612240100_quarantine_by_organisation'`.execute(db);
    for (const index of ['audit_events_target_seq', 'audit_events_actor_seq', 'audit_events_document_seq']) await db.schema.dropIndex(index).execute();
    await db.schema.createIndex('audit_events_document').on('audit_events').columns(['document_id', 'time']).execute();
    await sql`delete from schema_migrations where name = '202612240000_audit_pages_by_seq'`.execute(db);
    await db.schema.dropIndex('versions_awaiting_replica').execute();
    await db.schema.alterTable('versions').dropColumn('replicated_at').execute();
    await sql`delete from schema_migrations where name = '202612230100_versions_awaiting_replica'`.execute(db);
    await db.schema.alterTable('jobs').dropColumn('weight').execute();
    await sql`delete from schema_migrations where name = '202612230000_job_weights'`.execute(db);
    for (const index of ['jobs_lane_turn', 'jobs_lane_organisation_turn']) await db.schema.dropIndex(index).execute();
    for (const column of ['turn', 'organisation_id']) await db.schema.alterTable('jobs').dropColumn(column).execute();
    await sql`delete from schema_migrations where name = '202612220000_job_turns'`.execute(db);
    await db.schema.dropIndex('jobs_lane_due').execute();
    await db.schema.alterTable('jobs').dropColumn('lane').execute();
    await sql`delete from schema_migrations where name = '202612210000_job_lanes'`.execute(db);
    for (const index of ['documents_live_name', 'collections_live_child_name', 'collections_live_top_name']) await db.schema.dropIndex(index).execute();
    await sql`delete from schema_migrations where name = '202612200000_live_names_unique'`.execute(db);
    await db.schema.dropTable('account_notices').execute();
    await sql`delete from schema_migrations where name = '202612190000_account_notices'`.execute(db);
    await db.schema.alterTable('orphan_blob_candidates').dropColumn('listed_at').execute();
    await sql`delete from schema_migrations where name = '202612180100_orphan_candidates_listed'`.execute(db);
    await db.schema.alterTable('credentials').dropColumn('scope').execute();
    await sql`delete from schema_migrations where name = '202612180000_credential_scope'`.execute(db);
    await db.schema.dropIndex('versions_thumbnail_blob').execute();
    await db.schema.dropTable('orphan_blob_candidates').execute();
    await sql`delete from schema_migrations where name = '202612170000_orphan_blobs'`.execute(db);
    await db.schema.alterTable('versions').dropColumn('release_reason').execute();
    await sql`delete from schema_migrations where name = '202612160000_version_release_reason'`.execute(db);
    const backup = path.join(work, 'backup');
    const manifest = await takeBackup(v.vault, backup);
    expect(manifest.migrations).not.toContain(SIGN_IN_SEALS_MIGRATION);
    const masterKey = path.join(work, 'master.key');
    await copyFile(path.join(dataDir, 'keys', 'master.key'), masterKey);
    await closeKeepingData(v);

    await rm(dataDir, { recursive: true, force: true });
    await mkdir(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(masterKey, path.join(dataDir, 'keys', 'master.key'));
    const restored = await database();
    const restoredEnv = { ...(restored ? { STRONGROOM_DATABASE_URL: restored.url } : {}), STRONGROOM_OFFSITE: `${dataDir}-offsite` };
    const config = loadConfig({ env: { STRONGROOM_DATA: dataDir, STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', ...restoredEnv } });
    // No document was stored: the blobs come from an empty folder.
    const replica = path.join(work, 'replica');
    await mkdir(replica);
    await restoreBackup(config, { from: backup, blobsFrom: replica, logger: silent });
    v = await openVaultAt(dataDir, clamd.socketPath, restoredEnv);
    try {
      const signedIn = await v.vault.passwordSignIn.signIn(admin.email, TEST_PASSWORD, from);
      expect(signedIn.stage).toBe('mfa');
      await v.vault.secondFactor.verifySecondFactor((await v.vault.sessions.resolve(signedIn.sessionId))!, totp(secret), from);
      expect((await v.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${admin.token}` } })).statusCode).toBe(200);
      const row = await v.vault.store.db.selectFrom('users').select('mfa_secret').where('id', '=', admin.id).executeTakeFirstOrThrow();
      expect(row.mfa_secret).not.toContain(secret);
      const sealings = await v.vault.store.db.selectFrom('audit_events').select('target_ids').where('action', '=', 'auth.sign-in-seals').execute();
      expect(sealings).toHaveLength(1);
      // The events were sealed first, in the same open, as far as the checkpoints vouch for them: all of them.
      const eventSealings = (await v.vault.store.db.selectFrom('audit_events').select('target_ids').where('action', '=', 'audit.event-seals').execute()).map((e) => JSON.parse(e.target_ids) as Record<string, string>);
      expect(eventSealings).toEqual([expect.objectContaining({ left: '0' })]);
      expect(Number(eventSealings[0]!.sealed)).toBeGreaterThan(0);
      expect(await v.vault.store.repos.audit.unsealedSequenced()).toBeNull();
    } finally {
      await closeKeepingData(v);
    }
  });
});
