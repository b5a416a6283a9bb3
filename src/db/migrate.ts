// Runs the migrations in order, each in its own transaction on both dialects
// (Kysely's migrator does not wrap SQLite migrations, so we do it here).
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from './kysely.js';
import { migrations } from './migrations/index.js';

export const migrationNames = (): string[] => migrations.map((m) => m.name);

/**
 * `until`: stop after this migration (a restore loads rows at the schema they were backed up at, then migrates on).
 * `applying`: work to do, in its transaction, when the named migration is applied here (what needs a key a
 * migration does not hold: sealing rows that existed before, compose/sign-in-seals.ts), so it is done once, by whichever
 * process applies it, and never half (a crash rolls both back; the next open applies them again).
 */
export async function migrate(db: Kysely<any>, caps: DialectCaps, options: { until?: string; applying?: Record<string, (trx: Kysely<any>) => Promise<void>> } = {}): Promise<string[]> {
  await db.transaction().execute(async (trx) => {
    // Under the same lock as the migrations: two processes creating the table at once on
    // PostgreSQL collide even with IF NOT EXISTS (a unique violation in pg_type).
    if (caps.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7261001)`.execute(trx);
    await trx.schema
      .createTable('schema_migrations')
      .ifNotExists()
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('applied_at', 'text', (c) => c.notNull())
      .execute();
  });
  const applied = new Set(
    (await db.selectFrom('schema_migrations').select('name').execute()).map((r: { name: string }) => r.name),
  );
  const ran: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    await db.transaction().execute(async (trx) => {
      if (caps.dialect === 'postgres') {
        // Two processes starting at once must not both migrate.
        await sql`select pg_advisory_xact_lock(7261001)`.execute(trx);
        const again = await trx.selectFrom('schema_migrations').select('name').where('name', '=', migration.name).executeTakeFirst();
        if (again) return;
      }
      await migration.up(trx, caps);
      await options.applying?.[migration.name]?.(trx);
      await trx.insertInto('schema_migrations').values({ name: migration.name, applied_at: new Date().toISOString() }).execute();
      ran.push(migration.name);
    });
    if (migration.name === options.until) break;
  }
  return ran;
}
