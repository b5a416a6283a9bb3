// Collection ancestry for rules that reach down a tree (a hold or a retention event on a folder covers
// everything below it): each collection with its parents, read level by level (file plans are shallow).
import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';

export interface ChainLink {
  id: string;
  parentId: string | null;
  seriesCode: string | null;
}

/** Every collection among `ids` and all their ancestors, by id. */
export async function collectionsWithAncestors(db: Kysely<Schema>, ids: readonly string[]): Promise<Map<string, ChainLink>> {
  const known = new Map<string, ChainLink>();
  let wanted = [...new Set(ids)];
  while (wanted.length > 0) {
    const rows = await db.selectFrom('collections').select(['id', 'parent_id', 'series_code']).where('id', 'in', wanted).execute();
    for (const r of rows) known.set(r.id, { id: r.id, parentId: r.parent_id, seriesCode: r.series_code });
    wanted = [...new Set(rows.map((r) => r.parent_id).filter((p): p is string => p !== null && !known.has(p)))];
  }
  return known;
}

/** A collection, then each parent up to the top (stops on a cycle, which the schema never makes). */
export function chainOf(collectionId: string, links: Map<string, ChainLink>): ChainLink[] {
  const out: ChainLink[] = [];
  const seen = new Set<string>();
  for (let link = links.get(collectionId); link && !seen.has(link.id); link = link.parentId ? links.get(link.parentId) : undefined) {
    seen.add(link.id);
    out.push(link);
  }
  return out;
}
