// Acting on a collection with everything in it (moving it, binning it): whether the actor may, asked of
// decide() for the folder, every sub-collection and every document inside, before the transaction and again
// under its row locks; what such a write touches (WebDAV locks); and the folder's live subtree. Shared by
// CollectionMovesService and RemovalsService, built once in main.ts.
import type { Action } from '../domain/access/actions.js';
import type { CollectionResource, Decision, DocumentResource } from '../domain/access/policy.js';
import { conflict, notFound } from '../domain/errors.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import type { WriteTouch } from './locks.service.js';

/**
 * A document as managing it with its folder sees it: asked as the document (so the holds over it
 * apply, a deleted one's included) but whatever its status, since a deleted or pending document
 * moves and goes with its folder all the same.
 */
function asPartOfFolder(d: Document): DocumentResource {
  return { ...documentResource(d), status: 'available', deleted: false };
}

export const CHANGED_HERE = 'Something in this collection changed at the same moment; try again.';

export class SubtreeAccess {
  constructor(private readonly o: { store: Store; access: AccessService }) {}

  /**
   * Moving or deleting a collection needs the level of deleting documents ('manage') in it; top-level
   * collections also need the right to manage the organisation's file plan. Either refusal is the
   * collection's own 404, in the words of an id that names nothing (another council's folder is no
   * "resource" that exists).
   */
  async requireManage(actor: Actor, collection: Collection): Promise<Decision> {
    if (collection.parentId === null) {
      await this.o.access.requireOrganisation(actor, 'organisation.manage-collections', collection.organisationId, { collectionId: collection.id }, { missing: 'collection' });
    }
    return this.o.access.require(actor, 'document.delete', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId: collection.id } });
  }

  /**
   * Moving or deleting a collection acts on everything inside it, so the actor needs 'manage' on every
   * sub-collection and on every document at its own classification (which may be above the folder's),
   * not only on the folder: otherwise someone below a document's classification could carry it into a
   * joint workspace, or delete it, with its folder. A refusal is the folder's own (404, audited as
   * `operation` with the hidden item's reason), so it does not tell that anything is hidden below.
   * Document status is not asked: a deleted or pending document moves with its folder all the same.
   * A legal hold over the folder, above it, or on any document inside it (deleted ones included)
   * refuses with the hold named (409): decide() says so only where the actor could otherwise act.
   */
  async requireManageAll(actor: Actor, collection: Collection, operation: 'collection.move' | 'collection.delete'): Promise<Decision> {
    const decision = await this.requireManage(actor, collection);
    const action = operation === 'collection.move' ? 'document.rename' : 'document.delete';
    for (const c of await this.subtree(this.o.store.repos, collection)) {
      const documents = await this.o.store.repos.documents.inCollection(c.id, { includeDeleted: true });
      const inside: { resource: CollectionResource | DocumentResource; ids: Record<string, string> }[] = [
        { resource: collectionResource(c), ids: { insideCollectionId: c.id } },
        ...documents.map((d) => ({ resource: asPartOfFolder(d), ids: { documentId: d.id } })),
      ];
      const answers = await this.o.access.decisions(actor, inside.map((item) => ({ action, resource: item.resource })));
      const refused = answers.findIndex((answer) => !answer.allow);
      if (refused === -1) continue;
      const answer = answers[refused]!;
      await this.o.access.recordDenial(actor, operation, { organisationId: collection.organisationId, ids: { collectionId: collection.id, ...inside[refused]!.ids } }, answer);
      if (answer.hold) throw await this.o.access.heldError(actor, 'collection', collection.organisationId, answer.hold, { containing: inside[refused]!.resource.id !== collection.id });
      throw notFound('collection');
    }
    return decision;
  }

  /**
   * requireManageAll asked again inside the transaction that bins or moves the folder, after the rows were
   * locked (`holds.lockForChanging`: every document inside, deleted ones included, and every collection of
   * `subtree` exclusively, the collections above shared), with the holds and arrangements read there: a hold
   * placed on the folder, above it or on anything inside it in the moment since refuses (RefusedWithin, thrown
   * out of the transaction; the caller's `access.afterRollback` audits it as requireManageAll would have, and
   * answers 409 naming the hold). Something added inside after the rows were first read is a change at the same
   * moment (409, try again). Returns the documents inside as they are under the locks.
   */
  async requireAllWithin(tx: Repos, actor: Actor, collection: Collection, subtree: readonly Collection[], operation: 'collection.move' | 'collection.delete'): Promise<Document[]> {
    const inside = async () => (await Promise.all(subtree.map((c) => tx.documents.inCollection(c.id, { includeDeleted: true })))).flat();
    const seen = await inside();
    await tx.holds.lockForChanging({ documentIds: seen.map((d) => d.id), collectionIds: subtree.map((c) => c.id) });
    const documents = await inside();
    const known = new Set([...seen.map((d) => d.id), ...subtree.map((c) => c.id)]);
    if (documents.some((d) => !known.has(d.id)) || (await this.subtree(tx, collection)).some((c) => !known.has(c.id))) throw conflict(CHANGED_HERE);
    const action: Action = operation === 'collection.move' ? 'document.rename' : 'document.delete';
    const told = (containing: boolean) => ({ kind: 'collection' as const, organisationId: collection.organisationId, containing });
    await this.o.access.requireWithin(tx, actor, [
      ...subtree.map((c) => ({
        action, resource: collectionResource(c), auditAs: operation, told: told(c.id !== collection.id),
        target: { organisationId: collection.organisationId, ids: { collectionId: collection.id, insideCollectionId: c.id } },
      })),
      ...documents.map((d) => ({
        action, resource: asPartOfFolder(d), auditAs: operation, told: told(true),
        target: { organisationId: collection.organisationId, ids: { collectionId: collection.id, documentId: d.id } },
      })),
    ]);
    return documents;
  }

  /** Deleting or moving a collection changes it, everything inside it, and its parent's membership. */
  async subtreeTouches(collection: Collection): Promise<WriteTouch[]> {
    const parent = collection.parentId ? await this.o.store.repos.collections.byId(collection.parentId) : undefined;
    return [{ kind: 'subtree', collection }, ...(parent ? [{ kind: 'members' as const, collection: parent }] : [])];
  }

  /** The collection and all its live descendants, parents before children. */
  async subtree(repos: Repos, root: Collection): Promise<Collection[]> {
    const out: Collection[] = [root];
    for (let i = 0; i < out.length; i++) out.push(...(await repos.collections.children(root.organisationId, out[i]!.id)));
    return out;
  }
}
