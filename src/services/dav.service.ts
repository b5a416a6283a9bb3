// WebDAV's own state and the few file-plan operations WebDAV needs that the REST API does not:
// reachable organisations, name lookups, dead properties, write locks, deleting and moving collections.
// Every decision still goes through AccessService (and so the single decide()); every change is audited.
import { randomUUID } from 'node:crypto';
import { decide, type Decision } from '../domain/access/policy.js';
import { DomainError, conflict, invalid } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Collection, Document, Organisation } from '../domain/types.js';
import type { Store } from '../db/store.js';
import type { DavLock } from '../db/repos/dav.repo.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import type { CollectionsService } from './collections.service.js';
import type { DocumentsService } from './documents.service.js';

export type { DavLock };

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

export type PropertyChange = { op: 'set'; namespace: string; name: string; value: string } | { op: 'remove'; namespace: string; name: string };

export interface NewLock {
  path: string;
  scope: 'exclusive' | 'shared';
  depth: '0' | 'infinity';
  owner: string | null;
  timeoutSeconds: number;
}

export class DavService {
  constructor(private readonly o: { store: Store; access: AccessService; clock: Clock; collections: CollectionsService; documents: DocumentsService }) {}

  private get repos() {
    return this.o.store.repos;
  }

  /** The actor's own organisation and every organisation where decide() lets them list at least one collection. */
  async organisations(actor: Actor): Promise<Organisation[]> {
    const arrangements = await this.o.access.arrangementsFor(actor, []);
    const ids = new Set<string>();
    if (actor.organisationId) ids.add(actor.organisationId);
    for (const a of arrangements) for (const id of [a.hostOrganisationId, ...a.partnerOrganisationIds]) ids.add(id);
    const out: Organisation[] = [];
    for (const id of ids) {
      const org = await this.repos.organisations.byId(id);
      if (org && (await this.reachable(actor, org))) out.push(org);
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
    return (await this.o.collections.visible(actor, org.id)).length > 0;
  }

  /** A child collection: what the actor may list, the refusal if it exists but they may not, or nothing. */
  async childCollection(actor: Actor, organisationId: string, parentId: string | null, name: string): Promise<Lookup<Collection>> {
    const c = await this.repos.collections.childByName(organisationId, parentId, name);
    if (!c) return ABSENT;
    const context = await this.o.access.context(actor, [organisationId]);
    const decision = decide(actor, 'collection.list', collectionResource(c), context);
    return decision.allow ? { found: c } : { refusal: { action: 'collection.list', target: { organisationId, ids: { collectionId: c.id } }, decision } };
  }

  /** A live (not deleted) document by name: what the actor may see, the refusal if it exists but they may not, or nothing. */
  async documentByName(actor: Actor, collection: Collection, name: string): Promise<Lookup<Document>> {
    const d = await this.repos.documents.byName(collection.id, name);
    if (!d) return ABSENT;
    const context = await this.o.access.context(actor, [d.organisationId]);
    const decision = decide(actor, 'document.read', documentResource(d), context);
    return decision.allow ? { found: d } : { refusal: { action: 'document.read', target: { organisationId: d.organisationId, ids: { documentId: d.id } }, decision } };
  }

  /** Writes the deny event of a request refused while resolving its path, exactly as a refused REST request writes one. */
  async recordRefusal(actor: Actor, refusal: Refusal): Promise<void> {
    await this.o.access.recordDenial(actor, refusal.action, refusal.target, refusal.decision);
  }

  /** Top-level collections (parentId null) or the listing of one collection, as the actor may see them. */
  async members(actor: Actor, organisationId: string, collection: Collection | null): Promise<{ collections: Collection[]; documents: Document[] }> {
    if (!collection) return { collections: await this.o.collections.roots(actor, organisationId), documents: [] };
    const listing = await this.o.collections.get(actor, collection.id);
    return { collections: listing.children, documents: listing.documents };
  }

  // --- Dead properties (documents and collections share the table; ids never collide) ---

  async properties(resourceIds: string[]): Promise<Map<string, DeadProperty[]>> {
    const map = new Map<string, DeadProperty[]>();
    if (resourceIds.length === 0) return map;
    const rows = resourceIds.length === 1
      ? (await this.repos.dav.properties(resourceIds[0]!)).map((p) => ({ ...p, documentId: resourceIds[0]! }))
      : await this.repos.dav.propertiesOfMany(resourceIds);
    for (const r of rows) {
      const list = map.get(r.documentId) ?? [];
      list.push({ namespace: r.namespace, name: r.name, value: r.value });
      map.set(r.documentId, list);
    }
    return map;
  }

  /** PROPPATCH: all changes or none, after the same decision as writing to the resource. */
  async patchProperties(actor: Actor, target: DavTarget, changes: PropertyChange[]): Promise<void> {
    const { id, organisationId } = await this.requireWrite(actor, target);
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      for (const c of changes) {
        if (c.op === 'set') await repos.dav.setProperty(id, c.namespace, c.name, c.value);
        else await repos.dav.removeProperty(id, c.namespace, c.name);
      }
      await repos.audit.insert([auditEvent(actor, 'dav.proppatch', { organisationId, ids: target.kind === 'document' ? { documentId: id } : { collectionId: id } }, { allow: true, reason: 'policy', via: null }, now)]);
    });
  }

  /** Copies dead properties after a COPY (the caller has already written the destination through the services). */
  async copyProperties(fromId: string, toId: string): Promise<void> {
    await this.repos.dav.copyProperties(fromId, toId);
  }

  /** Asks decide() whether the actor may change this resource (new version / add to collection). */
  async requireWrite(actor: Actor, target: DavTarget): Promise<{ id: string; organisationId: string }> {
    if (target.kind === 'document') {
      const d = target.document;
      await this.o.access.require(actor, 'document.version', documentResource(d), { organisationId: d.organisationId, ids: { documentId: d.id } });
      return { id: d.id, organisationId: d.organisationId };
    }
    const c = target.collection;
    await this.o.access.require(actor, 'document.create', collectionResource(c), { organisationId: c.organisationId, ids: { collectionId: c.id } });
    return { id: c.id, organisationId: c.organisationId };
  }

  // --- Locks ---

  async locksAffecting(path: string, descendants: boolean): Promise<DavLock[]> {
    return this.repos.dav.locksAffecting(path, this.o.clock.now().toISOString(), descendants);
  }

  /** Every unexpired lock (PROPFIND lockdiscovery over a listing reads them once). */
  async allLocks(): Promise<DavLock[]> {
    return this.repos.dav.locksAffecting('/', this.o.clock.now().toISOString(), true);
  }

  async lockByToken(token: string): Promise<DavLock | undefined> {
    const lock = await this.repos.dav.lockByToken(token);
    return lock && lock.expiresAt > this.o.clock.now().toISOString() ? lock : undefined;
  }

  /** Takes a write lock on an existing resource, refusing when it conflicts with a lock already held. */
  async lock(actor: Actor, target: DavTarget | null, input: NewLock): Promise<DavLock> {
    if (target) await this.requireWrite(actor, target);
    if (!actor.userId) throw new DomainError('FORBIDDEN', 'Only people can hold WebDAV locks.');
    const now = this.o.clock.now();
    const existing = await this.locksAffecting(input.path, input.depth === 'infinity');
    if (existing.some((l) => l.scope === 'exclusive' || input.scope === 'exclusive')) {
      throw new DomainError('LOCKED', 'The resource is already locked.', { details: { conflictingLock: true } });
    }
    const lock: DavLock = {
      token: `urn:uuid:${randomUUID()}`, path: input.path, userId: actor.userId, scope: input.scope, depth: input.depth, owner: input.owner,
      timeoutSeconds: input.timeoutSeconds, expiresAt: new Date(now.getTime() + input.timeoutSeconds * 1000).toISOString(), createdAt: now.toISOString(),
    };
    await this.o.store.transaction(async (repos) => {
      await repos.dav.deleteExpired(now.toISOString());
      await repos.dav.insertLock(lock);
      await repos.audit.insert([auditEvent(actor, 'dav.lock', { organisationId: actor.organisationId, ids: { lockToken: lock.token } }, { allow: true, reason: 'policy', via: null }, now)]);
    });
    return lock;
  }

  async refresh(actor: Actor, lock: DavLock, timeoutSeconds: number): Promise<DavLock> {
    if (lock.userId !== actor.userId) throw new DomainError('FORBIDDEN', 'That lock belongs to someone else.');
    const expiresAt = new Date(this.o.clock.now().getTime() + timeoutSeconds * 1000).toISOString();
    await this.repos.dav.refreshLock(lock.token, timeoutSeconds, expiresAt);
    return { ...lock, timeoutSeconds, expiresAt };
  }

  /** Releases a lock; only its holder may. */
  async unlock(actor: Actor, lock: DavLock): Promise<void> {
    if (lock.userId !== actor.userId) {
      await this.o.access.recordDenial(actor, 'dav.unlock', { organisationId: actor.organisationId, ids: { lockToken: lock.token } }, { allow: false, reason: 'not_lock_owner', via: null });
      throw new DomainError('FORBIDDEN', 'That lock belongs to someone else.');
    }
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.dav.deleteLock(lock.token);
      await repos.audit.insert([auditEvent(actor, 'dav.unlock', { organisationId: actor.organisationId, ids: { lockToken: lock.token } }, { allow: true, reason: 'owner', via: null }, now)]);
    });
  }

  /** Drops the locks on a path and below it (after DELETE or MOVE: locks do not follow a resource). */
  async dropLocksUnder(path: string): Promise<void> {
    for (const lock of await this.locksAffecting(path, true)) {
      if (lock.path === path || lock.path.startsWith(`${path}/`)) await this.repos.dav.deleteLock(lock.token);
    }
  }

  // --- Collections: delete and move (the REST API does not offer these yet) ---

  /**
   * Deletes a collection and everything in it: each document is soft-deleted through the documents
   * service (so legal holds and per-document decisions apply), then the collections are marked deleted.
   * Deleting needs the same level as deleting documents ('manage'); top-level collections also need
   * the right to manage the organisation's file plan.
   */
  async removeCollection(actor: Actor, collection: Collection): Promise<void> {
    await this.requireManage(actor, collection);
    const subtree = await this.subtree(collection);
    for (const c of subtree) {
      for (const d of await this.repos.documents.inCollection(c.id, { limit: 1_000_000 })) await this.o.documents.remove(actor, d.id);
    }
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      for (const c of subtree.reverse()) await repos.collections.softDelete(c.id, now.toISOString());
      await repos.audit.insert([auditEvent(actor, 'collection.delete', { organisationId: collection.organisationId, ids: { collectionId: collection.id } }, { allow: true, reason: 'policy', via: null }, now)]);
    });
  }

  /** Renames a collection and/or moves it under another parent in the same organisation. */
  async moveCollection(actor: Actor, collection: Collection, destination: { parent: Collection | null; name: string }): Promise<Collection> {
    const name = validateName(destination.name, 'collection');
    await this.requireManage(actor, collection);
    const parent = destination.parent;
    if (parent) {
      if (parent.organisationId !== collection.organisationId) throw invalid('Collections can only be moved within their organisation.');
      if ((await this.subtree(collection)).some((c) => c.id === parent.id)) throw invalid('A collection cannot be moved into itself.');
      if (parent.serviceArea !== collection.serviceArea) throw invalid('A sub-collection must have the same service area as its parent.');
      await this.o.access.require(actor, 'collection.create', collectionResource(parent), { organisationId: parent.organisationId, ids: { collectionId: parent.id } });
    } else {
      await this.o.access.require(actor, 'organisation.manage-collections', { kind: 'organisation', organisationId: collection.organisationId }, { organisationId: collection.organisationId, ids: {} });
    }
    const parentId = parent?.id ?? null;
    const clash = await this.repos.collections.childByName(collection.organisationId, parentId, name);
    if (clash && clash.id !== collection.id) throw conflict(`A collection called "${name}" already exists there.`);
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      await repos.collections.rename(collection.id, name, parentId);
      await repos.audit.insert([auditEvent(actor, 'collection.move', { organisationId: collection.organisationId, ids: { collectionId: collection.id } }, { allow: true, reason: 'policy', via: null }, now)]);
    });
    return { ...collection, name, parentId };
  }

  private async requireManage(actor: Actor, collection: Collection): Promise<void> {
    if (collection.parentId === null) {
      await this.o.access.require(actor, 'organisation.manage-collections', { kind: 'organisation', organisationId: collection.organisationId }, { organisationId: collection.organisationId, ids: { collectionId: collection.id } });
    }
    await this.o.access.require(actor, 'document.delete', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId: collection.id } });
  }

  /** The collection and all its live descendants, parents before children. */
  private async subtree(root: Collection): Promise<Collection[]> {
    const out: Collection[] = [root];
    for (let i = 0; i < out.length; i++) out.push(...(await this.repos.collections.children(root.organisationId, out[i]!.id)));
    return out;
  }
}
