// Removals: binning a document, or a collection with everything in it, with every decision made before
// anything is binned, in the transaction of whatever needs the room (a WebDAV DELETE of a folder; a copy,
// move or new folder replacing what is in its way, WebDAV Overwrite: T).
import type { Decision } from '../domain/access/policy.js';
import { conflict, notFound } from '../domain/errors.js';
import type { Actor, Document } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { DESTINATION_CHANGED_SINCE_READ, requireContentMatches } from './content-match.js';
import type { LocksService } from './locks.service.js';
import type { SubtreeAccess } from './subtree-access.js';

/** Something in the way at a destination (WebDAV Overwrite: T), to be binned to make room: by kind and id. */
export interface InTheWay {
  kind: 'document' | 'collection';
  id: string;
  /**
   * A document's content the client's conditions on the destination were judged on (a WebDAV If header tagged
   * with it): held on arrival and again under its row lock as it is binned, so a version saved there meanwhile
   * is not replaced unseen (412, nothing done).
   */
  ifMatch?: readonly string[];
}

/**
 * The removal of a document, or of a collection with everything in it, once every decision that could
 * refuse it has been made (permission on all of it, holds, locks, scans). `bin` soft-deletes it in the
 * caller's transaction, so a removal and the copy, move or new folder it makes room for are all or
 * nothing: a refused operation bins nothing.
 */
export interface Removal {
  readonly kind: 'document' | 'collection';
  readonly id: string;
  bin(repos: Repos, now: Date): Promise<void>;
}

const CHANGED = 'What is at the destination changed at the same moment; try again.';

export class RemovalsService {
  constructor(private readonly o: { store: Store; access: AccessService; locks: LocksService; subtrees: SubtreeAccess }) {}

  /**
   * Prepares binning a document, or a collection with everything in it, deciding everything first:
   * a document as `DocumentsService.remove` would (delete permission, holds, scans, locks), a
   * collection as a WebDAV DELETE of it (`requireManageAll`, then deleting each live document inside,
   * and the locks on all of it). Nothing changes here; `bin` does it in the caller's transaction, and
   * refuses (409, try again) if anything was added inside meanwhile, since that was not decided.
   * `at`: where it must be (a destination it is in the way at); `sparing`: what is being moved or
   * copied there, which must not be inside it; `replaced`: recorded on the delete events.
   */
  async prepareRemoval(actor: Actor, what: InTheWay, options: {
    at?: { organisationId: string; parentId: string | null; name: string };
    sparing?: InTheWay;
    replaced?: boolean;
  } = {}): Promise<Removal> {
    const repos = this.o.store.repos;
    const flag: Record<string, string> = options.replaced ? { replaced: 'true' } : {};
    const at = options.at;
    if (what.kind === 'document') {
      const document = await repos.documents.byId(what.id);
      if (!document || document.deletedAt || (at && (document.organisationId !== at.organisationId || document.collectionId !== at.parentId || document.name !== at.name))) throw notFound('document');
      if (options.sparing?.id === document.id) throw conflict('The source and destination are the same.');
      requireContentMatches(what.ifMatch, document.sha256, DESTINATION_CHANGED_SINCE_READ);
      await this.o.access.require(actor, 'document.delete', documentResource(document), { organisationId: document.organisationId, ids: { documentId: document.id } });
      const collection = await repos.collections.byId(document.collectionId);
      await this.o.locks.enforce(actor, [{ kind: 'content', target: { kind: 'document', document } }, ...(collection ? [{ kind: 'members' as const, collection }] : [])]);
      const endedLocks = await this.o.locks.tokensOn({ kind: 'document', document });
      return {
        kind: 'document', id: document.id,
        bin: async (tx, now) => {
          await tx.holds.lockForChanging({ documentIds: [document.id], collectionIds: [] });
          const current = await tx.documents.byId(document.id);
          if (!current || current.deletedAt || current.collectionId !== document.collectionId || current.name !== document.name) throw conflict(CHANGED);
          // Decided again under the row lock: a hold placed since the decision above refuses the binning (RefusedWithin).
          const [decided] = await this.o.access.requireWithin(tx, actor, [{ action: 'document.delete', resource: documentResource(current), target: { organisationId: document.organisationId, ids: { documentId: document.id } } }]);
          requireContentMatches(what.ifMatch, current.sha256, DESTINATION_CHANGED_SINCE_READ);
          for (const token of endedLocks) await tx.locks.delete(token);
          await tx.documents.update(document.id, { deletedAt: now.toISOString() }, now.toISOString());
          await tx.audit.insert([auditEvent(actor, 'document.delete', { organisationId: document.organisationId, ids: { documentId: document.id, ...flag } }, decided!, now)]);
        },
      };
    }
    const collection = await repos.collections.byId(what.id);
    if (!collection || collection.deletedAt || (at && (collection.organisationId !== at.organisationId || collection.parentId !== at.parentId || collection.name !== at.name))) throw notFound('collection');
    const decision = await this.o.subtrees.requireManageAll(actor, collection, 'collection.delete');
    await this.o.locks.enforce(actor, await this.o.subtrees.subtreeTouches(collection));
    const subtree = await this.o.subtrees.subtree(repos, collection);
    const spared = options.sparing;
    if (spared && subtree.some((c) => c.id === spared.id)) throw conflict('What is at the destination holds what is being moved; move it somewhere else first.');
    // Each live document inside is deleted as itself: a scan under way or a hold on it refuses the whole removal, before anything is binned.
    const documents = new Map<string, { document: Document; decision: Decision }>();
    for (const c of subtree) {
      for (const d of await repos.documents.inCollection(c.id)) {
        if (spared?.id === d.id) throw conflict('What is at the destination holds what is being moved; move it somewhere else first.');
        documents.set(d.id, { document: d, decision: await this.o.access.require(actor, 'document.delete', documentResource(d), { organisationId: d.organisationId, ids: { documentId: d.id } }) });
      }
    }
    const endedLocks = await this.o.locks.tokensOn({ kind: 'collection', collection });
    const decided = new Set(subtree.map((c) => c.id));
    return {
      kind: 'collection', id: collection.id,
      bin: async (tx, now) => {
        const at = now.toISOString();
        const current = await tx.collections.byId(collection.id);
        if (!current || current.deletedAt || current.parentId !== collection.parentId || current.name !== collection.name) throw conflict(CHANGED);
        const subtreeNow = await this.o.subtrees.subtree(tx, current);
        if (subtreeNow.some((c) => !decided.has(c.id))) throw conflict(CHANGED);
        // All of it decided again under its row locks: a hold placed on the folder, above it or on anything inside
        // it since the decisions above refuses the binning (RefusedWithin), and so does one on a live document.
        const live = (await this.o.subtrees.requireAllWithin(tx, actor, current, subtreeNow, 'collection.delete')).filter((d) => d.deletedAt === null);
        if (live.some((d) => !documents.has(d.id))) throw conflict(CHANGED);
        const fresh = await this.o.access.requireWithin(tx, actor, live.map((d) => ({
          action: 'document.delete' as const, resource: documentResource(d), target: { organisationId: d.organisationId, ids: { documentId: d.id } },
        })));
        const events: ReturnType<typeof auditEvent>[] = [];
        for (const [i, d] of live.entries()) {
          await tx.documents.update(d.id, { deletedAt: at }, at);
          events.push(auditEvent(actor, 'document.delete', { organisationId: d.organisationId, ids: { documentId: d.id } }, fresh[i]!, now));
        }
        for (const token of endedLocks) await tx.locks.delete(token);
        for (const c of subtreeNow.reverse()) await tx.collections.softDelete(c.id, at);
        events.push(auditEvent(actor, 'collection.delete', { organisationId: collection.organisationId, ids: { collectionId: collection.id, ...flag } }, decision, now));
        await tx.audit.insert(events);
      },
    };
  }
}
