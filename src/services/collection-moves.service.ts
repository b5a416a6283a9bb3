// Renaming a collection and moving it within its organisation: everything inside decided as the folder is
// (SubtreeAccess), and the derived facts of everything below recomputed from the new place in the move's
// own transaction, with what is in the way at the destination binned there too (WebDAV Overwrite: T).
import { conflict, invalid, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import { documentPlacementChanged, placeCollection, placeDocument } from '../domain/placement.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Collection } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { collectionResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { afterNameTaken, claimFolderName, documentInTheWay, giveClaimedName, nameHeld, takenWithin, tellCollectionNameTaken } from './name-claims.js';
import type { LocksService } from './locks.service.js';
import type { InTheWay, RemovalsService } from './removals.service.js';
import { documentsBelow, dueDatesMoved, refiled, type DueDateChecks, type DueDateShift } from './retention-due-dates.js';
import type { StagedRefiling } from './retention.service.js';
import { CHANGED_HERE, type SubtreeAccess } from './subtree-access.js';

export class CollectionMovesService {
  constructor(private readonly o: {
    store: Store; access: AccessService; locks: LocksService; clock: Clock;
    /** A folder move is refiling by another name for everything below it: checked like refiling. */
    dueDates: DueDateChecks;
    /** Who may move the folder with everything in it, asked again under the row locks. */
    subtrees: SubtreeAccess;
    /** What is in the way at the destination (WebDAV Overwrite: T) is decided and binned as the file plan removes things. */
    removals: Pick<RemovalsService, 'prepareRemoval'>;
  }) {}


  /**
   * Renames a collection and/or moves it under another parent (null: the top level) in the same
   * organisation. The derived facts of the collection, every collection below it and every document
   * in them (arrangement binding, service area, classification floor) are recomputed from their new
   * place in the same transaction, so a folder leaving a joint workspace stops being shared at once.
   */
  async move(actor: Actor, collectionId: string, change: {
    name?: string; parentId?: string | null;
    /** A records manager's confirmation that the move may bring due dates earlier. */
    confirmShorter?: boolean;
    /** What is at the destination under that name, binned in the move's own transaction (WebDAV Overwrite: T). */
    replace?: InTheWay;
    /** A refiling asked for in the same request (a PATCH with a series), decided already: written in the move's transaction, so it is all or nothing. */
    refile?: StagedRefiling;
  }): Promise<Collection> {
    const collection = await this.o.store.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    const decision = await this.o.subtrees.requireManageAll(actor, collection, 'collection.move');
    const name = validateName(change.name ?? collection.name, 'collection');
    const parentId = change.parentId === undefined ? collection.parentId : change.parentId;
    const parent = parentId === null ? null : await this.o.store.repos.collections.byId(parentId);
    if (parent === undefined || parent?.deletedAt) throw notFound('collection');
    const placement = placeCollection(collection, parent);
    if (parentId !== collection.parentId) {
      const ids = { collectionId: collection.id, ...(parent ? { parentId: parent.id } : {}) };
      if (parent) {
        await this.o.access.require(actor, 'collection.create', { ...collectionResource(parent), classification: placement.classification }, { organisationId: parent.organisationId, ids });
      } else {
        await this.o.access.require(actor, 'organisation.manage-collections', { kind: 'organisation', organisationId: collection.organisationId }, { organisationId: collection.organisationId, ids });
      }
    }
    // Shape is checked only once the actor is known to see both ends, so it reveals nothing.
    if (parent && parent.organisationId !== collection.organisationId) throw invalid('Collections can only be moved within their organisation; copy them instead.', { field: 'parentId' });
    if (parent && parent.serviceArea !== collection.serviceArea) throw invalid('A sub-collection must have the same service area as its parent.', { field: 'parentId' });
    // A sibling or a document of that name in the destination is in the way, unless it is itself or what this replaces.
    // A request that leaves the name and the parent as they are names nothing, so it claims nothing: a document
    // written before the rule that shares the folder's name (name-claims.ts) does not refuse it.
    const moving = parentId !== collection.parentId;
    const naming = moving || name !== collection.name;
    const namePlace = { organisationId: collection.organisationId, folderId: parentId, name };
    const claimant = { kind: 'collection' as const, except: [collection.id, change.replace?.id] };
    const clash = naming ? await nameHeld(this.o.store.repos, namePlace, claimant) : undefined;
    if (clash) throw await tellCollectionNameTaken(this.o.access, actor, clash);
    const target = { organisationId: collection.organisationId, ids: { collectionId: collection.id, ...(parentId ? { parentId } : {}) } };
    if (moving && change.confirmShorter === true) await this.o.dueDates.requireShorteningConfirmable(actor, collection.organisationId, target.ids);
    await this.o.locks.enforce(actor, [...(await this.o.subtrees.subtreeTouches(collection)), ...(parent ? [{ kind: 'members' as const, collection: parent }] : [])]);
    // What is in the way is decided like a delete of it, after the move itself, and binned in the move's transaction.
    const removal = change.replace
      ? await this.o.removals.prepareRemoval(actor, change.replace, { at: { organisationId: collection.organisationId, parentId, name }, replaced: true, sparing: { kind: 'collection', id: collection.id } })
      : null;
    // Locks do not follow a moved resource (RFC 4918 §7.5): those on it and inside it end here.
    const endedLocks = await this.o.locks.tokensOn({ kind: 'collection', collection });
    const now = this.o.clock.now();
    const moved: Collection = { ...collection, name, ...placement };
    await this.o.store.transaction(async (repos) => {
      await this.o.access.holdActing(repos, actor);
      // Everything in it decided again under its row locks: a hold placed on it, above it or on anything inside
      // it since requireManageAll refuses the move here (audited once this rolls back), not only the next one.
      // Its name too: one left as it was is claimed by nobody below, so it must still be its own. Read again once
      // requireAllWithin holds its row (PostgreSQL): a rename committed while this waited for the lock, its name
      // then given to another, is found here rather than written back over it.
      const asRead = async () => {
        const row = await repos.collections.byId(collection.id);
        if (!row || row.deletedAt || row.parentId !== collection.parentId || row.name !== collection.name) throw conflict(CHANGED_HERE);
        return row;
      };
      const current = await asRead();
      await this.o.subtrees.requireAllWithin(repos, actor, current, await this.o.subtrees.subtree(repos, current), 'collection.move');
      await asRead();
      for (const token of endedLocks) await repos.locks.delete(token);
      // Read below the collection inside the transaction, so nothing added meanwhile keeps stale facts.
      if (parent && (await this.o.subtrees.subtree(repos, collection)).some((c) => c.id === parent.id)) throw invalid('A collection cannot be moved into itself.', { field: 'parentId' });
      // The parent as it is now (share-locked on PostgreSQL) must give the placement that was authorised.
      const parentNow = parent ? await repos.collections.byIdForFiling(parent.id) : null;
      if (parentNow === undefined || parentNow?.deletedAt) throw notFound('collection');
      const placedNow = placeCollection(collection, parentNow);
      if (placedNow.arrangementId !== placement.arrangementId || placedNow.classification !== placement.classification) {
        throw conflict('The destination was moved or changed at the same moment; try again.');
      }
      // Adding it under the new parent decided again on the parent as this reads it: an arrangement opening the
      // parent (a joint workspace other than the folder's own) suspended or ended since the decision above refuses
      // here (404, audited once this rolls back).
      if (moving && parentNow) {
        await this.o.access.requireWithin(repos, actor, [{
          action: 'collection.create', resource: { ...collectionResource(parentNow), classification: placement.classification },
          target: { organisationId: parentNow.organisationId, ids: { collectionId: collection.id, parentId: parentNow.id } },
        }]);
      }
      if (removal) await removal.bin(repos, now);
      // Taken since the check above (a create, copy or other move finishing meanwhile)? Claimed after the row locks.
      const takenNow = naming ? await claimFolderName(repos, namePlace, claimant) : undefined;
      if (takenNow) throw takenWithin(takenNow, documentInTheWay(name), 'collection');
      const place = async () => {
        const write = () => repos.collections.place(collection.id, { name, ...placement });
        await (naming ? giveClaimedName(namePlace, claimant, documentInTheWay(name), write) : write());
        await this.replaceBelow(repos, moved, now.toISOString());
      };
      // Everything below takes its retention from the new place: due dates brought earlier need a records manager's confirmation.
      // A refiling asked for with it is written inside the same comparison, so the two are confirmed (or refused) together.
      const refile = change.refile;
      const refileAndPlace = refile ? async () => { await refile.write(repos, now); await place(); } : place;
      let shift: DueDateShift = { earlier: 0, later: 0 };
      const confirmed = { confirmShorter: change.confirmShorter === true };
      if (moving) shift = await this.o.dueDates.moved(repos, collection.organisationId, { collectionId: collection.id }, refileAndPlace, confirmed);
      else if (refile) {
        const below = () => documentsBelow(repos, collection.organisationId, collection.id);
        shift = await refiled(repos, await below(), refileAndPlace, below, confirmed, refile.refusal);
      } else await place();
      const binding: Record<string, string> = collection.arrangementId !== moved.arrangementId
        ? { fromArrangementId: collection.arrangementId ?? 'none', toArrangementId: moved.arrangementId ?? 'none' } : {};
      // Its classification where it now is: everything beneath was raised to at least it (classification-record.ts).
      await repos.audit.insert([auditEvent(actor, 'collection.move', { ...target, ids: { ...target.ids, classification: moved.classification, ...binding, ...dueDatesMoved(shift) } }, decision, now)]);
    }).catch(async (error: unknown) => this.o.dueDates.auditRefusedShortening(actor, 'collection.move', target, await this.o.access.afterRollback(actor, await afterNameTaken(this.o.access, this.o.store.repos, actor, error))));
    return moved;
  }

  /** Recomputes the derived facts of everything inside `place` (already at its new place), top down. */
  private async replaceBelow(repos: Repos, place: Collection, at: string): Promise<void> {
    for (const document of await repos.documents.inCollection(place.id, { includeDeleted: true })) {
      const placement = placeDocument(document, place);
      if (documentPlacementChanged(document, placement)) await repos.documents.update(document.id, placement, at);
    }
    for (const child of await repos.collections.children(place.organisationId, place.id)) {
      const placed: Collection = { ...child, ...placeCollection(child, place) };
      await repos.collections.place(child.id, placed);
      await this.replaceBelow(repos, placed, at);
    }
  }
}
