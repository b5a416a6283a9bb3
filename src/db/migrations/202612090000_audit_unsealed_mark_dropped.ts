// The mark 202611300112 recorded (the highest event id written before events were sealed) let an
// unsealed pending row through if its id was below it. The mark and every other fact that test
// rested on are rows the database can change, so a database administrator could raise it, clear
// the seals and have a forged event sequenced and signed. No unsealed row is sequenced any more,
// and the mark is removed so nothing reads it again.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, _caps: DialectCaps): Promise<void> {
  await db.deleteFrom('key_values').where('key', '=', 'audit.unsealed_through_id').execute();
}
