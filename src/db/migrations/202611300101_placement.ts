// Copies record where they came from (the source document and, across organisations, the arrangement
// that allowed reading it); and facts derived from place, left stale by moves made before they were
// recomputed, are repaired: a collection moved out of a joint workspace no longer carries its binding.
// Self-contained on purpose (a migration must mean the same thing forever); the rules are those of
// domain/placement.ts at the time of writing.
import type { Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

interface Row {
  id: string;
  parent_id: string | null;
  service_area: string;
  classification: string;
  arrangement_id: string | null;
}

const higher = (a: string, b: string): string => (a === 'OFFICIAL-SENSITIVE' || b === 'OFFICIAL-SENSITIVE' ? 'OFFICIAL-SENSITIVE' : 'OFFICIAL');

export async function up(db: Kysely<any>, _caps: DialectCaps): Promise<void> {
  await db.schema.alterTable('documents').addColumn('copied_from_document_id', 'text').execute();
  await db.schema.alterTable('documents').addColumn('copied_via_arrangement_id', 'text').execute();
  await db.schema.createIndex('documents_copied_from').on('documents').column('copied_from_document_id').execute();
  await repairPlacement(db);
}

/** Recomputes every collection's and document's derived facts from where it sits. Exported for its test. */
export async function repairPlacement(db: Kysely<any>): Promise<void> {
  const rows = (await db.selectFrom('collections').select(['id', 'parent_id', 'service_area', 'classification', 'arrangement_id']).execute()) as Row[];
  const children = new Map<string | null, Row[]>();
  for (const r of rows) children.set(r.parent_id, [...(children.get(r.parent_id) ?? []), r]);
  // Top down: a root keeps its own binding (a joint workspace); everything below takes its parent's.
  const placed: Row[] = [];
  const visit = async (row: Row, stored: Row): Promise<void> => {
    if (row.arrangement_id !== stored.arrangement_id || row.classification !== stored.classification) {
      await db.updateTable('collections').set({ arrangement_id: row.arrangement_id, classification: row.classification }).where('id', '=', row.id).execute();
    }
    placed.push(row);
    for (const child of children.get(row.id) ?? []) {
      await visit({ ...child, arrangement_id: row.arrangement_id, classification: higher(child.classification, row.classification) }, child);
    }
  };
  for (const root of children.get(null) ?? []) await visit(root, root);
  // Documents take their collection's binding and service area, and never sit below its classification.
  for (const c of placed) {
    await db.updateTable('documents').set({ arrangement_id: c.arrangement_id, service_area: c.service_area }).where('collection_id', '=', c.id)
      .where((eb) => eb.or([
        c.arrangement_id === null ? eb('arrangement_id', 'is not', null) : eb.or([eb('arrangement_id', 'is', null), eb('arrangement_id', '!=', c.arrangement_id)]),
        eb('service_area', '!=', c.service_area),
      ])).execute();
    if (c.classification === 'OFFICIAL-SENSITIVE') {
      await db.updateTable('documents').set({ classification: 'OFFICIAL-SENSITIVE' }).where('collection_id', '=', c.id).where('classification', '!=', 'OFFICIAL-SENSITIVE').execute();
    }
  }
}
