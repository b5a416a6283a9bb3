// Fills a folder fast for scale tests and benchmarks: a document already uploaded (the template) is
// cloned straight into the database, rows of documents and versions, so that a folder of thousands
// measures listings, not clamd and uploads.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Schema } from '../../src/db/schema.js';
import { nameKey } from '../../src/domain/names.js';

/**
 * Adds `count` copies of the document `templateId` beside it, the i-th named `name(i)`, each with its
 * own id and a copy of the template's current version row; `change(i)` may set other columns (binned, classified).
 */
export async function cloneDocuments(db: Kysely<Schema>, templateId: string, count: number, name: (i: number) => string,
  change: (i: number) => Partial<Pick<Selectable<Schema['documents']>, 'updated_at' | 'deleted_at' | 'classification'>> = () => ({})): Promise<void> {
  const template = await db.selectFrom('documents').selectAll().where('id', '=', templateId).executeTakeFirstOrThrow();
  const version = await db.selectFrom('versions').selectAll().where('id', '=', template.current_version_id).executeTakeFirstOrThrow();
  for (let start = 0; start < count; start += 500) {
    const docs: (typeof template)[] = [];
    const versions: (typeof version)[] = [];
    for (let i = start; i < Math.min(start + 500, count); i++) {
      const id = randomUUID();
      const versionId = randomUUID();
      docs.push({ ...template, id, name: name(i), name_key: nameKey(name(i)), current_version_id: versionId, ...change(i) });
      versions.push({ ...version, id: versionId, document_id: id });
    }
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('documents').values(docs).execute();
      await trx.insertInto('versions').values(versions).execute();
    });
  }
}
