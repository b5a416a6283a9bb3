// WebDAV state: dead properties of documents and collections (locks live in locks.repo.ts).
import type { Kysely } from 'kysely';
import type { DavRepository } from '../../domain/repositories.js';
import type { Schema } from '../schema.js';

export class DavRepo implements DavRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async properties(documentId: string): Promise<{ namespace: string; name: string; value: string }[]> {
    return this.db.selectFrom('dead_properties').select(['namespace', 'name', 'value']).where('document_id', '=', documentId).execute();
  }

  /** Dead properties of many resources at once (PROPFIND allprop over a large collection). */
  async propertiesOfMany(resourceIds: string[]): Promise<{ documentId: string; namespace: string; name: string; value: string }[]> {
    const out: { documentId: string; namespace: string; name: string; value: string }[] = [];
    for (let i = 0; i < resourceIds.length; i += 500) {
      const rows = await this.db.selectFrom('dead_properties').select(['document_id', 'namespace', 'name', 'value']).where('document_id', 'in', resourceIds.slice(i, i + 500)).execute();
      for (const r of rows) out.push({ documentId: r.document_id, namespace: r.namespace, name: r.name, value: r.value });
    }
    return out;
  }

  async setProperty(documentId: string, namespace: string, name: string, value: string): Promise<void> {
    await this.db.deleteFrom('dead_properties').where('document_id', '=', documentId).where('namespace', '=', namespace).where('name', '=', name).execute();
    await this.db.insertInto('dead_properties').values({ document_id: documentId, namespace, name, value }).execute();
  }

  async removeProperty(documentId: string, namespace: string, name: string): Promise<void> {
    await this.db.deleteFrom('dead_properties').where('document_id', '=', documentId).where('namespace', '=', namespace).where('name', '=', name).execute();
  }

  async copyProperties(fromDocumentId: string, toDocumentId: string): Promise<void> {
    const props = await this.properties(fromDocumentId);
    await this.db.deleteFrom('dead_properties').where('document_id', '=', toDocumentId).execute();
    if (props.length > 0) await this.db.insertInto('dead_properties').values(props.map((p) => ({ ...p, document_id: toDocumentId }))).execute();
  }
}
