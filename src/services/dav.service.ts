// WebDAV's own state and the few file-plan operations WebDAV needs that the REST API does not:
// reachable organisations, name lookups, dead properties, deleting, moving and copying collections, and the
// WebDAV face of write locks (the locks themselves live in LocksService and bind every interface).
// Every decision still goes through AccessService (and so the single decide()); every change is audited.
import type { Decision } from '../domain/access/policy.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Collection, Document, Organisation } from '../domain/types.js';
import type { Store } from '../domain/repositories.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import { requireContentMatches } from './content-match.js';
import type { NewCollection } from './collection-creation.service.js';
import type { CollectionMovesService } from './collection-moves.service.js';
import type { CollectionsService } from './collections.service.js';
import type { InTheWay, RemovalsService } from './removals.service.js';
import type { FolderCopyService } from './folder-copy.service.js';
import type { LocksService, NewLock, ResourceLock } from './locks.service.js';
import type { Place } from '../domain/locks/coverage.js';

/** A step of a WebDAV path that exists but that the actor may not see, and the decision that hid it. */
export interface Refusal {
  action: 'collection.list' | 'document.read';
  target: AuditTarget;
  decision: Decision;
}

/** A name looked up for WebDAV: found (and visible), refused (exists, hidden), or neither. */
export type Lookup<T> = { found: T; refusal?: undefined } | { found?: undefined; refusal: Refusal } | { found?: undefined; refusal?: undefined };
const ABSENT = {} as const;

export type DavTarget = { kind: 'document'; document: Document } | { kind: 'collection'; collection: Collection };

export interface DeadProperty {
  namespace: string;
  name: string;
  value: string;
}

/**
 * Dead properties one resource may hold, in number and in total bytes (namespace, name and value):
 * plenty for Office, macOS and Windows metadata, too little to use the database as free storage.
 */
export const MAX_DEAD_PROPERTIES = 100;
export const MAX_DEAD_PROPERTY_BYTES = 64 * 1024;

export type PropertyChange = { op: 'set'; namespace: string; name: string; value: string } | { op: 'remove'; namespace: string; name: string };

export class DavService {
  constructor(private readonly o: { store: Store; access: AccessService; clock: Clock; collections: CollectionsService; collectionMoves: CollectionMovesService; removals: RemovalsService; locks: LocksService; folderCopy: FolderCopyService }) {}

  private get repos() {
    return this.o.store.repos;
  }

  /**
   * The actor's own organisation and every organisation they reach through arrangements in force
   * (AccessService.reachableOrganisations) where decide() lets them list at least one collection.
   */
  async organisations(actor: Actor): Promise<Organisation[]> {
    const out: Organisation[] = [];
    const own = actor.organisationId ? await this.repos.organisations.byId(actor.organisationId) : undefined;
    if (own) out.push(own);
    for (const id of await this.o.access.reachableOrganisations(actor)) {
      const org = await this.repos.organisations.byId(id);
      if (org && (await this.hasVisibleCollection(actor, org))) out.push(org);
    }
    return out.sort((a, b) => a.slug.localeCompare(b.slug));
  }

  /**
   * An organisation folder by slug. `reachable` is false when the actor can reach nothing in it:
   * the caller shows it as missing, and may still look one step inside to name the refusal.
   */
  async organisation(actor: Actor, slug: string): Promise<{ org: Organisation; reachable: boolean } | null> {
    const org = await this.repos.organisations.bySlug(slug);
    return org ? { org, reachable: await this.reachable(actor, org) } : null;
  }

  /** The refusal of an organisation folder the actor can reach nothing in (decide() has refused every collection in it). */
  unreachableOrganisation(org: Organisation): Refusal {
    return { action: 'collection.list', target: { organisationId: org.id, ids: {} }, decision: { allow: false, reason: 'no_visible_collection', via: null } };
  }

  private async reachable(actor: Actor, org: Organisation): Promise<boolean> {
    if (actor.organisationId === org.id) return true;
    // Only an organisation an arrangement in force opens to the actor can hold anything they may list.
    if (!(await this.o.access.reachableOrganisations(actor)).includes(org.id)) return false;
    return this.hasVisibleCollection(actor, org);
  }

  private async hasVisibleCollection(actor: Actor, org: Organisation): Promise<boolean> {
    return (await this.o.collections.visible(actor, org.id)).length > 0;
  }

  /** A child collection: what the actor may list, the refusal if it exists but they may not, or nothing. */
  async childCollection(actor: Actor, organisationId: string, parentId: string | null, name: string): Promise<Lookup<Collection>> {
    const c = await this.repos.collections.childByName(organisationId, parentId, name);
    if (!c) return ABSENT;
    const decision = await this.o.access.decisionFor(actor, 'collection.list', collectionResource(c));
    return decision.allow ? { found: c } : { refusal: { action: 'collection.list', target: { organisationId, ids: { collectionId: c.id } }, decision } };
  }

  /** A live (not deleted) document by name: what the actor may see, the refusal if it exists but they may not, or nothing. */
  async documentByName(actor: Actor, collection: Collection, name: string): Promise<Lookup<Document>> {
    const d = await this.repos.documents.byName(collection.id, name);
    if (!d) return ABSENT;
    const decision = await this.o.access.decisionFor(actor, 'document.read', documentResource(d));
    return decision.allow ? { found: d } : { refusal: { action: 'document.read', target: { organisationId: d.organisationId, ids: { documentId: d.id } }, decision } };
  }

  /** Writes the deny event of a request refused while resolving its path, exactly as a refused REST request writes one. */
  async recordRefusal(actor: Actor, refusal: Refusal): Promise<void> {
    await this.o.access.recordDenial(actor, refusal.action, refusal.target, refusal.decision);
  }

  /**
   * Top-level collections (parentId null) or the listing of one collection, as the actor may see them:
   * the documents read and decided a page at a time as they are taken (a PROPFIND of a large folder
   * streams them instead of holding them all). Every document, however many: WebDAV has no next page to
   * ask for, so a mapped drive shown the first 10,000 of a larger folder would show files as missing.
   */
  async memberPages(actor: Actor, organisationId: string, collection: Collection | null, pageSize: number): Promise<{ collections: Collection[]; documentPages: AsyncGenerator<Document[]> | null }> {
    if (!collection) return { collections: await this.o.collections.roots(actor, organisationId), documentPages: null };
    const listing = await this.o.collections.listInPages(actor, collection.id, pageSize, { upTo: Number.POSITIVE_INFINITY });
    return { collections: listing.children, documentPages: listing.documentPages };
  }

  // --- Dead properties (documents and collections share the table; ids never collide) ---

  /**
   * Dead properties of the resources among `resourceIds` that the actor may see (a document they
   * may read, a live folder they may list), decided on the rows as stored, in bulk: an id the actor
   * may not see answers as if it had none.
   */
  async properties(actor: Actor, resourceIds: string[]): Promise<Map<string, DeadProperty[]>> {
    const map = new Map<string, DeadProperty[]>();
    const visible = await this.visibleIds(actor, resourceIds);
    if (visible.length === 0) return map;
    const rows = visible.length === 1
      ? (await this.repos.dav.properties(visible[0]!)).map((p) => ({ ...p, documentId: visible[0]! }))
      : await this.repos.dav.propertiesOfMany(visible);
    for (const r of rows) {
      const list = map.get(r.documentId) ?? [];
      list.push({ namespace: r.namespace, name: r.name, value: r.value });
      map.set(r.documentId, list);
    }
    return map;
  }

  /** The documents and collections with these ids, as stored. */
  private async targetsByIds(ids: readonly string[]): Promise<DavTarget[]> {
    if (ids.length === 0) return [];
    const [documents, collections] = await Promise.all([this.repos.documents.byIds(ids), this.repos.collections.byIds(ids)]);
    return [
      ...documents.map((document): DavTarget => ({ kind: 'document', document })),
      ...collections.filter((c) => c.deletedAt === null).map((collection): DavTarget => ({ kind: 'collection', collection })),
    ];
  }

  private async visibleIds(actor: Actor, ids: readonly string[]): Promise<string[]> {
    const targets = await this.targetsByIds(ids);
    const seen = await this.o.access.can(actor, targets.map((t) => (t.kind === 'document'
      ? { action: 'document.read' as const, resource: documentResource(t.document) }
      : { action: 'collection.list' as const, resource: collectionResource(t.collection) })));
    return targets.filter((_, i) => seen[i]).map((t) => (t.kind === 'document' ? t.document.id : t.collection.id));
  }

  /**
   * PROPPATCH: all changes or none, after the same decision as writing to the resource. A result
   * beyond the per-resource caps is refused whole (TOO_LARGE with `details.deadProperties`). `ifMatch`: the
   * content a document's conditions were judged on, held on arrival and again under its row lock in the
   * transaction, so a version someone else saved meanwhile does not have its properties changed unseen (412).
   */
  async patchProperties(actor: Actor, handed: DavTarget, changes: PropertyChange[], options: { ifMatch?: readonly string[] } = {}): Promise<void> {
    const { ifMatch } = options;
    const target = await this.o.locks.current(handed);
    const { id, organisationId, decision } = await this.requireWrite(actor, target);
    if (target.kind === 'document') requireContentMatches(ifMatch, target.document.sha256);
    await this.o.locks.enforce(actor, [{ kind: 'content', target }]);
    const now = this.o.clock.now();
    let decided = decision;
    await this.o.store.transaction(async (repos) => {
      await this.o.access.holdActing(repos, actor);
      // The write decided again on the resource as this transaction reads it: an arrangement suspended or ended
      // since the decision above refuses here (404, audited once this rolls back), and no property is written.
      if (target.kind === 'document') {
        // Under the row lock when judged on the content, so no version can be saved between the check and the commit.
        if (ifMatch) await repos.holds.lockForChanging({ documentIds: [id], collectionIds: [] });
        const current = await repos.documents.byId(id);
        if (!current) throw notFound('document');
        [decided] = await this.o.access.requireWithin(repos, actor, [{ action: 'document.version', resource: documentResource(current), target: { organisationId: current.organisationId, ids: { documentId: id } } }]) as [Decision];
        requireContentMatches(ifMatch, current.sha256);
      } else {
        const current = await repos.collections.byId(id);
        if (!current || current.deletedAt) throw notFound('collection');
        [decided] = await this.o.access.requireWithin(repos, actor, [{ action: 'document.create', resource: collectionResource(current), target: { organisationId: current.organisationId, ids: { collectionId: id } } }]) as [Decision];
      }
      for (const c of changes) {
        if (c.op === 'set') await repos.dav.setProperty(id, c.namespace, c.name, c.value);
        else await repos.dav.removeProperty(id, c.namespace, c.name);
      }
      // Judged on the result, so replacing a value or removing one in the same request makes room.
      const held = await repos.dav.properties(id);
      const bytes = held.reduce((sum, p) => sum + Buffer.byteLength(p.namespace) + Buffer.byteLength(p.name) + Buffer.byteLength(p.value), 0);
      if (held.length > MAX_DEAD_PROPERTIES || bytes > MAX_DEAD_PROPERTY_BYTES) {
        throw new DomainError('TOO_LARGE', `A file or folder can hold at most ${MAX_DEAD_PROPERTIES} custom properties, ${MAX_DEAD_PROPERTY_BYTES / 1024} KiB in all; nothing was changed.`, { details: { deadProperties: true } });
      }
      await repos.audit.insert([auditEvent(actor, 'dav.proppatch', { organisationId, ids: target.kind === 'document' ? { documentId: id } : { collectionId: id } }, decided, now)]);
    }).catch(async (error: unknown) => {
      throw await this.o.access.afterRollback(actor, error);
    });
  }

  /**
   * Copies dead properties after a COPY, once the destination was written through the services: the
   * actor must be able to write the destination (decided and audited like a PROPPATCH's write) and
   * to see the source; a source they may not see gives nothing.
   */
  async copyProperties(actor: Actor, fromId: string, toId: string): Promise<void> {
    const [destination] = await this.targetsByIds([toId]);
    if (!destination) throw notFound('resource');
    await this.requireWrite(actor, destination);
    if ((await this.visibleIds(actor, [fromId])).length === 0) return;
    await this.repos.dav.copyProperties(fromId, toId);
  }

  /** Asks decide() whether the actor may change this resource (new version / add to collection). */
  async requireWrite(actor: Actor, handed: DavTarget): Promise<{ id: string; organisationId: string; decision: Decision }> {
    // Decided on the resource as stored, by id: never on the organisation or team of an object handed in.
    const target = await this.o.locks.current(handed);
    if (target.kind === 'document') {
      const d = target.document;
      const decision = await this.o.access.require(actor, 'document.version', documentResource(d), { organisationId: d.organisationId, ids: { documentId: d.id } });
      return { id: d.id, organisationId: d.organisationId, decision };
    }
    const c = target.collection;
    const decision = await this.o.access.require(actor, 'document.create', collectionResource(c), { organisationId: c.organisationId, ids: { collectionId: c.id } });
    return { id: c.id, organisationId: c.organisationId, decision };
  }

  // --- Locks (LocksService decides coverage by ids; WebDAV only presents them) ---

  /** Live locks applying to a resource, or to a new member of `parent` (an unmapped URL). */
  async locksApplying(actor: Actor, target: DavTarget | { kind: 'new-member'; parent: Collection }): Promise<ResourceLock[]> {
    return this.o.locks.applying(actor, target);
  }

  /**
   * lockdiscovery for a PROPFIND: the locks applying to the resource and, for a collection, each
   * listed member (documents and sub-collections directly inside it). Keyed by resource id.
   */
  async lockDiscovery(actor: Actor, organisationId: string, self: DavTarget | null, members: { id: string; collection: boolean }[]): Promise<Map<string, ResourceLock[]>> {
    const places = new Map<string, Place>();
    let inside: string[] = [];
    if (self) {
      const place = await this.o.locks.placeOf(self);
      places.set(self.kind === 'document' ? self.document.id : self.collection.id, place);
      if (self.kind === 'collection') inside = [self.collection.id, ...place.ancestors];
    }
    for (const m of members) {
      places.set(m.id, m.collection ? { documentId: null, collectionId: m.id, ancestors: inside } : { documentId: m.id, collectionId: null, ancestors: inside });
    }
    return this.o.locks.applyingToMany(actor, organisationId, places);
  }

  async lockByToken(actor: Actor, token: string): Promise<ResourceLock | undefined> {
    return this.o.locks.byToken(actor, token);
  }

  async lock(actor: Actor, target: DavTarget, input: NewLock): Promise<ResourceLock> {
    return this.o.locks.take(actor, target, input);
  }

  async refresh(actor: Actor, lock: ResourceLock, timeoutSeconds: number): Promise<ResourceLock> {
    return this.o.locks.refresh(actor, lock, timeoutSeconds);
  }

  /** Releases a lock: its holder may, and so may the owning organisation's admins (a break, audited). */
  async unlock(actor: Actor, token: string): Promise<void> {
    await this.o.locks.release(actor, token);
  }

  // --- Collections: delete (WebDAV only; RemovalsService bins) and move (CollectionMovesService's, as for every interface) ---

  /**
   * Deletes a collection and everything in it: every decision first (manage-level access to all of it,
   * each live document's own deletion, so legal holds and scans under way apply, and the locks), then
   * the documents and the collections are binned in one transaction, so a refused delete bins nothing.
   * Deleting needs the same level as deleting documents ('manage'); top-level collections also need
   * the right to manage the organisation's file plan.
   */
  async removeCollection(actor: Actor, handed: Collection): Promise<void> {
    const removal = await this.o.removals.prepareRemoval(actor, { kind: 'collection', id: handed.id });
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await this.o.access.holdActing(repos, actor);
      await removal.bin(repos, now);
    }).catch(async (error: unknown) => {
      // Refused when decided again in the transaction (a hold placed meanwhile): audited, and answered like any other refusal.
      throw await this.o.access.afterRollback(actor, error);
    });
  }

  /**
   * COPY of a collection within its organisation, all or nothing (FolderCopyService): everything
   * inside is decided, read and checked first, then the new tree, what is in the way (Overwrite: T)
   * and every event are written in one transaction, so a refused member writes nothing.
   */
  async copyCollection(actor: Actor, collection: Collection, destination: { top: NewCollection; recursive: boolean; replace?: InTheWay }): Promise<Collection> {
    return this.o.folderCopy.copy(actor, collection.id, destination);
  }

  /**
   * MOVE of a collection: CollectionMovesService renames/moves it and recomputes everything below;
   * with Overwrite: T, what is in the way is binned in the move's own transaction, once the move and
   * the removal are both decided, so a refused move (retention shortened, say) bins nothing.
   */
  async moveCollection(actor: Actor, collection: Collection, destination: { parent: Collection | null; name: string; replace?: InTheWay }): Promise<Collection> {
    return this.o.collectionMoves.move(actor, collection.id, {
      name: destination.name, parentId: destination.parent?.id ?? null, ...(destination.replace ? { replace: destination.replace } : {}),
    });
  }
}
