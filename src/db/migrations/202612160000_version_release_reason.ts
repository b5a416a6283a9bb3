// A release from quarantine's written reason gets its own column. It used to be appended to `scan_detail`
// ("<verdict> — released: <reason>"), which every reader of the version is shown, a partner's staff among
// them; the reason is the security admin's judgement of the file, for those who may see quarantine details.
// Versions released before move their reason here, and their detail says only that they were released.
import type { Kysely } from 'kysely';

// Written here, not imported: a migration that has shipped must not change with the code after it.
const RELEASED_MARK = ' — released: ';
const RELEASED_AFTER_REVIEW = 'released after review by a security admin';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('versions').addColumn('release_reason', 'text').execute();
  const released = await db.selectFrom('versions').select(['id', 'scan_detail'])
    .where('scan_status', '=', 'released').where('scan_detail', 'like', `%${RELEASED_MARK}%`).execute() as { id: string; scan_detail: string }[];
  for (const row of released) {
    // The first mark is the release's: what came before it is the scanner's or the file policy's, which name no such thing.
    const at = row.scan_detail.indexOf(RELEASED_MARK);
    const verdict = row.scan_detail.slice(0, at);
    const reason = row.scan_detail.slice(at + RELEASED_MARK.length);
    await db.updateTable('versions').set({
      scan_detail: verdict ? `${verdict} — ${RELEASED_AFTER_REVIEW}` : RELEASED_AFTER_REVIEW,
      release_reason: reason,
    }).where('id', '=', row.id).execute();
  }
}
