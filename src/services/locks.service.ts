// Write locks as a service operation on documents and collections, enforced for every interface.
// A lock binds only while its holder could still make the write it protects: every time locks are
// read, a lock whose holder has lost that access (decide() on fresh facts) lapses, audited.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { DomainError, notFound } from '../domain/errors.js';
import { lockApplies, lockConflicts, lockCovers, lockWithin, type LockOn, type Place, type Touch } from '../domain/locks/coverage.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Collection, Document, User } from '../domain/types.js';
import type { Repos, ResourceLock, Store } from '../domain/repositories.js';
import { collectionResource, documentResource, type AccessService, type WithinQuestion } from './access.service.js';
import { auditEvent, type AuditTarget } from './audit-events.js';
import { actorFor } from './identity.service.js';

export type { ResourceLock };

export type LockTarget = { kind: 'document'; document: Document } | { kind: 'collection'; collection: Collection };

/** What a write changes; see `Touch` in domain/locks/coverage.ts. */
export type WriteTouch =
  | { kind: 'content'; target: LockTarget }
  | { kind: 'members'; collection: Collection }
  | { kind: 'subtree'; collection: Collection };

export interface NewLock {
  scope: 'exclusive' | 'shared';
  depth: '0' | 'infinity';
  owner: string | null;
  timeoutSeconds: number;
  /** The WebDAV path it was taken on, shown as lockdiscovery's lock-root. */
  rootPath: string;
}

/**
 * Who holds a lock, as the person looking may know it: the name and e-mail only for the holder's own
 * organisation and the owning organisation's admins; anyone else learns the holder's organisation.
 */
export interface LockHolder {
  userId: string | null;
  name: string | null;
  email: string | null;
  organisation: string;
}

/**
 * A lock as people see it: who holds it and what it is on. An admin listing every lock of the
 * organisation may meet one on something they may not see (above their clearance): its name and
 * path are then null, so breaking a lock never needs, or tells, what it is on.
 */
export interface LockListing {
  lock: ResourceLock;
  holder: LockHolder;
  resourceName: string | null;
  path: string | null;
}

export class LocksService {
  constructor(private readonly o: { store: Store; access: AccessService; clock: Clock }) {}

  private get repos(): Repos {
    return this.o.store.repos;
  }

  /**
   * Refuses the write with LOCKED unless every live lock protecting what it touches was presented
   * (Actor.lockTokens) by the lock's own holder. Call it after decide() has allowed the write, so a
   * refusal never tells someone who may not see the resource that it exists.
   */
  async enforce(actor: Actor, touches: WriteTouch[]): Promise<void> {
    for (const organisationId of new Set(touches.map(organisationOfTouch))) {
      // Most writes meet no lock at all: skip working out where things sit.
      if ((await this.repos.locks.liveInOrganisation(organisationId, this.o.clock.now().toISOString())).length === 0) continue;
      const wanted: Touch[] = [];
      for (const t of touches.filter((x) => organisationOfTouch(x) === organisationId)) {
        wanted.push(t.kind === 'content' ? { kind: 'content', place: await this.placeOf(t.target) } : { kind: t.kind, place: await this.placeOf({ kind: 'collection', collection: t.collection }) });
      }
      const covering = await this.liveWhere(organisationId, actor, async (lock) => {
        if (lock.userId === actor.userId && (actor.lockTokens ?? []).includes(lock.token)) return false;
        const on = await this.lockOn(lock, wanted.some((w) => w.kind === 'subtree'));
        return wanted.some((w) => lockCovers(on, w));
      });
      if (covering[0]) throw await this.lockedError(actor, covering[0]);
    }
  }

  /**
   * The resource as stored now, by the id of the one handed in (NOT_FOUND if gone): decisions are made
   * on the stored row, never on an object a caller built, whose organisation or team could be anyone's.
   */
  async current(target: LockTarget): Promise<LockTarget> {
    if (target.kind === 'document') {
      const document = await this.repos.documents.byId(target.document.id);
      if (!document || document.deletedAt) throw notFound('document');
      return { kind: 'document', document };
    }
    const collection = await this.repos.collections.byId(target.collection.id);
    if (!collection || collection.deletedAt) throw notFound('collection');
    return { kind: 'collection', collection };
  }

  /** Takes a write lock, after the same decision as writing to the resource, unless a live lock conflicts. */
  async take(actor: Actor, handed: LockTarget, input: NewLock): Promise<ResourceLock> {
    const target = await this.current(handed);
    const decision = await this.requireWrite(actor, target);
    if (!actor.userId) throw new DomainError('FORBIDDEN', 'Only people can hold locks.');
    const depth = target.kind === 'document' ? '0' : input.depth;
    const organisationId = organisationOf(target);
    const wanted: LockOn = { place: await this.placeOf(target), depth };
    const conflicting = await this.liveWhere(organisationId, actor, async (existing) =>
      (existing.scope === 'exclusive' || input.scope === 'exclusive') && lockConflicts(await this.lockOn(existing, depth === 'infinity'), wanted));
    if (conflicting.length > 0) throw new DomainError('LOCKED', 'The resource is already locked.', { details: { conflictingLock: true } });
    const now = this.o.clock.now();
    const lock: ResourceLock = {
      token: `urn:uuid:${randomUUID()}`, organisationId, depth, scope: input.scope, userId: actor.userId, owner: input.owner, rootPath: input.rootPath,
      documentId: target.kind === 'document' ? target.document.id : null, collectionId: target.kind === 'collection' ? target.collection.id : null,
      timeoutSeconds: input.timeoutSeconds, expiresAt: new Date(now.getTime() + input.timeoutSeconds * 1000).toISOString(), createdAt: now.toISOString(),
    };
    let decided = decision;
    await this.o.store.transaction(async (repos) => {
      await this.o.access.holdActing(repos, actor);
      // The write decided again on the resource as this transaction reads it: an arrangement suspended or ended
      // since the decision above stores no lock (404, audited once this rolls back) and records no `dav.lock`.
      [decided] = await this.o.access.requireWithin(repos, actor, [await this.writeQuestionWithin(repos, target)]) as [Decision];
      await repos.locks.deleteExpired(now.toISOString());
      await repos.locks.insert(lock);
      await repos.audit.insert([auditEvent(actor, 'dav.lock', lockTarget(lock), decided, now)]);
    }).catch(async (error: unknown) => {
      throw await this.o.access.afterRollback(actor, error);
    });
    return lock;
  }

  /** Extends a lock; only its holder may. */
  async refresh(actor: Actor, lock: ResourceLock, timeoutSeconds: number): Promise<ResourceLock> {
    if (lock.userId !== actor.userId) {
      // Recorded like every refusal; told plainly (403), as the lock was presented by its token.
      await this.o.access.recordRefusal(actor, 'dav.lock-refresh', lockTarget(lock), 'not_holder');
      throw new DomainError('FORBIDDEN', 'That lock belongs to someone else.');
    }
    await this.requireHolderWrite(actor, lock);
    const expiresAt = new Date(this.o.clock.now().getTime() + timeoutSeconds * 1000).toISOString();
    await this.repos.locks.refresh(lock.token, timeoutSeconds, expiresAt);
    return { ...lock, timeoutSeconds, expiresAt };
  }

  /**
   * Releases a lock. Its holder may; anyone else needs `lock.break` on the organisation that owns the
   * locked resource (its org admins and security admins), decided and audited; others get NOT_FOUND.
   */
  async release(actor: Actor, token: string): Promise<void> {
    const lock = await this.byToken(actor, token);
    if (!lock) throw notFound('lock');
    const now = this.o.clock.now();
    if (lock.userId === actor.userId) {
      // The holder's own write decision (a partner's names its arrangement); one that no longer holds has just lapsed the lock.
      const decision = await this.holderDecision(lock);
      if (!decision.allow) throw notFound('lock');
      await this.requireHolderWrite(actor, lock);
      await this.o.store.transaction(async (repos) => {
        await repos.locks.delete(lock.token);
        await repos.audit.insert([auditEvent(actor, 'dav.unlock', lockTarget(lock), decision, now)]);
      });
      return;
    }
    const decision = await this.o.access.require(actor, 'lock.break', { kind: 'organisation', organisationId: lock.organisationId }, lockTarget(lock));
    await this.o.store.transaction(async (repos) => {
      await repos.locks.delete(lock.token);
      await repos.audit.insert([auditEvent(actor, 'lock.break', lockTarget(lock), decision, now)]);
    });
  }

  /** A live lock by its token, or undefined (expired, lapsed or unknown). */
  async byToken(witness: Actor, token: string): Promise<ResourceLock | undefined> {
    const lock = await this.repos.locks.byToken(token);
    if (!lock || lock.expiresAt <= this.o.clock.now().toISOString()) return undefined;
    return (await this.stillHeld(lock, witness)) ? lock : undefined;
  }

  /** Live locks that apply to a resource (itself, or a depth-infinity lock above it), or to a new member of `parent`. */
  async applying(witness: Actor, target: LockTarget | { kind: 'new-member'; parent: Collection }): Promise<ResourceLock[]> {
    const organisationId = target.kind === 'new-member' ? target.parent.organisationId : organisationOf(target);
    const place: Place = target.kind === 'new-member'
      ? { documentId: null, collectionId: null, ancestors: await this.ancestry(target.parent.id) }
      : await this.placeOf(target);
    return this.liveWhere(organisationId, witness, (l) => lockApplies(lockOnShallow(l), place));
  }

  /**
   * Live locks applying to each of many resources in one organisation (WebDAV lockdiscovery over a
   * listing): `places` maps a resource id to where it sits. Each lock's owner (what the holder's client
   * wrote into its LOCK request: an account or a person's name) is the holder's identity, so it is kept
   * only for a witness decide() lets identify the holder, as the 423 and the REST listing name them.
   */
  async applyingToMany(witness: Actor, organisationId: string, places: Map<string, Place>): Promise<Map<string, ResourceLock[]>> {
    const out = new Map<string, ResourceLock[]>();
    const all = [...places.values()];
    const live = await this.liveWhere(organisationId, witness, (l) => all.some((place) => lockApplies(lockOnShallow(l), place)));
    if (live.length === 0) return out;
    const locks: ResourceLock[] = [];
    for (const l of live) locks.push(l.owner === null || (await this.identifies(witness, l)) ? l : { ...l, owner: null });
    for (const [id, place] of places) {
      const applying = locks.filter((l) => lockApplies(lockOnShallow(l), place));
      if (applying.length > 0) out.set(id, applying);
    }
    return out;
  }

  /** Locks applying to a document or collection, by id (REST and the web interface). */
  async listOn(actor: Actor, on: { documentId: string } | { collectionId: string }): Promise<LockListing[]> {
    if ('documentId' in on) {
      const document = await this.repos.documents.byId(on.documentId);
      if (!document) throw notFound('document');
      return this.listFor(actor, { kind: 'document', document });
    }
    const collection = await this.repos.collections.byId(on.collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    return this.listFor(actor, { kind: 'collection', collection });
  }

  /** Locks on a document or collection for the person looking at it (anyone who may see it, as in WebDAV lockdiscovery). */
  async listFor(actor: Actor, target: LockTarget): Promise<LockListing[]> {
    if (!(await this.mayManage(actor, organisationOf(target)))) {
      if (target.kind === 'document') await this.o.access.require(actor, 'document.read', documentResource(target.document), { organisationId: target.document.organisationId, ids: { documentId: target.document.id } });
      else await this.o.access.require(actor, 'collection.list', collectionResource(target.collection), { organisationId: target.collection.organisationId, ids: { collectionId: target.collection.id } });
    }
    return this.withHolders(actor, await this.applying(actor, target));
  }

  /** Every live lock on an organisation's resources, for its admins (`lock.list`). */
  async listForOrganisation(actor: Actor, organisationId: string): Promise<LockListing[]> {
    await this.o.access.require(actor, 'lock.list', { kind: 'organisation', organisationId }, { organisationId, ids: {} });
    return this.withHolders(actor, await this.live(organisationId, actor));
  }

  /**
   * Locks that stop applying because the resource is deleted or moved (RFC 4918 §7.5: locks do not
   * follow a resource). Read before the change; delete the returned tokens in its transaction.
   */
  async tokensOn(target: LockTarget): Promise<string[]> {
    const organisationId = organisationOf(target);
    const locks = await this.repos.locks.liveInOrganisation(organisationId, this.o.clock.now().toISOString());
    if (locks.length === 0) return [];
    const place = await this.placeOf(target);
    const out: string[] = [];
    for (const l of locks) if (lockWithin(await this.lockOn(l, true), place)) out.push(l.token);
    return out;
  }

  /** Where a document or collection sits in the file plan, by id. */
  async placeOf(target: LockTarget): Promise<Place> {
    return target.kind === 'document'
      ? { documentId: target.document.id, collectionId: null, ancestors: await this.ancestry(target.document.collectionId) }
      : { documentId: null, collectionId: target.collection.id, ancestors: target.collection.parentId ? await this.ancestry(target.collection.parentId) : [] };
  }

  /** The collection and those above it, nearest first. */
  private async ancestry(collectionId: string): Promise<string[]> {
    const out: string[] = [];
    let id: string | null = collectionId;
    while (id && !out.includes(id)) {
      out.push(id);
      id = (await this.repos.collections.byId(id))?.parentId ?? null;
    }
    return out;
  }

  /** The lock's resource and (when `deep`, for questions about what lies inside a collection) where it sits. */
  private async lockOn(lock: ResourceLock, deep: boolean): Promise<LockOn> {
    if (!deep) return lockOnShallow(lock);
    if (lock.documentId) {
      const document = await this.repos.documents.byId(lock.documentId);
      return { depth: lock.depth, place: { documentId: lock.documentId, collectionId: null, ancestors: document ? await this.ancestry(document.collectionId) : [] } };
    }
    const collection = await this.repos.collections.byId(lock.collectionId!);
    return { depth: lock.depth, place: { documentId: null, collectionId: lock.collectionId, ancestors: collection?.parentId ? await this.ancestry(collection.parentId) : [] } };
  }

  /** Every live lock of an organisation, after lapsing those whose holder has lost write access. */
  private async live(organisationId: string, witness: Actor): Promise<ResourceLock[]> {
    return this.liveWhere(organisationId, witness, () => true);
  }

  /**
   * The unexpired locks of an organisation that match, each checked for lapse once it matters: a
   * lock is evaluated (and may lapse) whenever it would bind, be shown or be conflicted with.
   */
  private async liveWhere(organisationId: string, witness: Actor, matches: (lock: ResourceLock) => boolean | Promise<boolean>): Promise<ResourceLock[]> {
    const locks = await this.repos.locks.liveInOrganisation(organisationId, this.o.clock.now().toISOString());
    const out: ResourceLock[] = [];
    for (const lock of locks) if ((await matches(lock)) && (await this.stillHeld(lock, witness))) out.push(lock);
    return out;
  }

  /**
   * Asks decide(), with fresh arrangements, whether the holder could still make the write the lock
   * protects. If not (disabled, arrangement suspended or ended, clearance lowered, team changed,
   * resource moved out of reach or deleted) the lock lapses: deleted, and audited with the reason.
   */
  private async stillHeld(lock: ResourceLock, witness: Actor): Promise<boolean> {
    const decision = await this.holderDecision(lock);
    if (decision.allow) return true;
    const now = this.o.clock.now();
    await this.o.store.transaction(async (repos) => {
      // Only the request that removes it records the lapse, so concurrent readers audit it once.
      if (await repos.locks.delete(lock.token)) {
        const noticedBy: Actor = { kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL', channel: witness.channel, clientAddress: witness.clientAddress, requestId: witness.requestId };
        await repos.audit.insert([auditEvent(noticedBy, 'lock.lapse', { ...lockTarget(lock), ids: { ...lockTarget(lock).ids, holderId: lock.userId } }, decision, now)]);
      }
    });
    return false;
  }

  /**
   * Whether the holder could still make the write the lock protects, as decide() answers it now
   * (with `via` for a partner's lock); a refusal's reason is why the lock lapses.
   */
  private async holderDecision(lock: ResourceLock): Promise<Decision> {
    const gone = (reason: string): Decision => ({ allow: false, reason, via: null });
    const user = await this.repos.users.byId(lock.userId);
    if (!user) return gone('holder_unknown');
    if (user.disabled) return gone('holder_disabled');
    const holder = actorFor(user, { channel: 'webdav', clientAddress: null, requestId: null });
    const target = await this.lockedTarget(lock);
    if (!target) return gone('resource_gone');
    return target.kind === 'document'
      ? this.o.access.decisionFor(holder, 'document.version', documentResource(target.document))
      : this.o.access.decisionFor(holder, 'document.create', collectionResource(target.collection));
  }

  /** The live document or collection a lock is on, or null (gone, binned, or no longer the lock's organisation's). */
  private async lockedTarget(lock: ResourceLock): Promise<LockTarget | null> {
    if (lock.documentId) {
      const document = await this.repos.documents.byId(lock.documentId);
      return !document || document.deletedAt || document.organisationId !== lock.organisationId ? null : { kind: 'document', document };
    }
    const collection = await this.repos.collections.byId(lock.collectionId!);
    return !collection || collection.deletedAt || collection.organisationId !== lock.organisationId ? null : { kind: 'collection', collection };
  }

  /**
   * A holder's own refresh or release changes the lock, so it is asked of the request as it came, as the write
   * the lock protects (decided and audited; a read-only credential is refused it, 403): the holder's standing
   * alone (holderDecision) says nothing of what the credential of this request may do.
   */
  private async requireHolderWrite(actor: Actor, lock: ResourceLock): Promise<void> {
    const target = await this.lockedTarget(lock);
    if (!target) throw notFound('lock');
    await this.requireWrite(actor, target);
  }

  private async requireWrite(actor: Actor, target: LockTarget): Promise<Decision> {
    if (target.kind === 'document') {
      const d = target.document;
      return this.o.access.require(actor, 'document.version', documentResource(d), { organisationId: d.organisationId, ids: { documentId: d.id } });
    }
    const c = target.collection;
    return this.o.access.require(actor, 'document.create', collectionResource(c), { organisationId: c.organisationId, ids: { collectionId: c.id } });
  }

  /** requireWrite's question, on the resource as `repos` (a transaction's) reads it. */
  private async writeQuestionWithin(repos: Repos, target: LockTarget): Promise<WithinQuestion> {
    if (target.kind === 'document') {
      const d = await repos.documents.byId(target.document.id);
      if (!d) throw notFound('document');
      return { action: 'document.version', resource: documentResource(d), target: { organisationId: d.organisationId, ids: { documentId: d.id } } };
    }
    const c = await repos.collections.byId(target.collection.id);
    if (!c || c.deletedAt) throw notFound('collection');
    return { action: 'document.create', resource: collectionResource(c), target: { organisationId: c.organisationId, ids: { collectionId: c.id } } };
  }

  private async mayManage(actor: Actor, organisationId: string): Promise<boolean> {
    return this.o.access.may(actor, 'lock.list', { kind: 'organisation', organisationId });
  }

  private async withHolders(viewer: Actor, locks: ResourceLock[]): Promise<LockListing[]> {
    const out: LockListing[] = [];
    for (const lock of locks) {
      const shown = await this.shownTo(viewer, lock);
      out.push({ lock, holder: await this.holder(viewer, lock), resourceName: shown.name, path: shown.path });
    }
    return out;
  }

  /**
   * The locked resource's name and the lock's path as `viewer` may know them: the name when decide()
   * lets them see the resource (document.read, or collection.list for a folder); the path only when it
   * also lets them list every folder above it, since the path spells out each one's name (a readable
   * document can sit in a folder its reader may not open). Otherwise null.
   */
  private async shownTo(viewer: Actor, lock: ResourceLock): Promise<{ name: string | null; path: string | null }> {
    const document = lock.documentId ? await this.repos.documents.byId(lock.documentId) : undefined;
    const collection = lock.collectionId ? await this.repos.collections.byId(lock.collectionId) : undefined;
    const seen = document ? await this.o.access.may(viewer, 'document.read', documentResource(document))
      : collection ? await this.o.access.may(viewer, 'collection.list', collectionResource(collection)) : false;
    if (!seen) return { name: null, path: null };
    const folders: Collection[] = [];
    for (let id = document?.collectionId ?? collection?.parentId ?? null; id !== null && folders.length < 100;) {
      const folder = await this.repos.collections.byId(id);
      if (!folder) break;
      folders.push(folder);
      id = folder.parentId;
    }
    const listable = await this.o.access.can(viewer, folders.map((f) => ({ action: 'collection.list' as const, resource: collectionResource(f) })));
    return { name: document?.name ?? collection?.name ?? null, path: listable.every(Boolean) ? lock.rootPath : null };
  }

  /** The holder as `viewer` may know them: decide() says whether they are told who it is. */
  private async holder(viewer: Actor, lock: ResourceLock): Promise<LockHolder> {
    const user = await this.repos.users.byId(lock.userId);
    const organisation = (user ? await this.repos.organisations.byId(user.organisationId) : undefined)?.name ?? 'another organisation';
    if (!(await this.identifies(viewer, lock, user))) return { userId: null, name: null, email: null, organisation };
    return { userId: lock.userId, name: user?.name ?? 'an unknown person', email: user?.email ?? '', organisation };
  }

  /**
   * Whether `viewer` may be told who holds the lock (by name, e-mail or the owner their client wrote):
   * their colleagues (`person.identify`) and the owning organisation's admins (`lock.list`).
   */
  private async identifies(viewer: Actor, lock: ResourceLock, holder?: User): Promise<boolean> {
    const user = holder ?? (await this.repos.users.byId(lock.userId));
    const person = { kind: 'person' as const, userId: lock.userId, organisationId: user?.organisationId ?? '' };
    const answers = await this.o.access.can(viewer, [
      { action: 'person.identify', resource: person },
      { action: 'lock.list', resource: { kind: 'organisation', organisationId: lock.organisationId } },
    ]);
    return answers.some(Boolean);
  }

  private async lockedError(actor: Actor, lock: ResourceLock): Promise<DomainError> {
    const holder = await this.holder(actor, lock);
    const { path } = await this.shownTo(actor, lock);
    const until = `${lock.expiresAt.slice(0, 10)} ${lock.expiresAt.slice(11, 16)} UTC`;
    const what = lock.documentId ? 'This document' : 'This folder';
    const who = holder.email === null ? `someone in ${holder.organisation}` : `${holder.name} (${holder.email})`;
    return new DomainError('LOCKED',
      `${what} is locked for editing by ${who} until ${until}. Ask them to finish and unlock it, `
      + 'or ask an administrator of the organisation that owns it to break the lock. If you hold the lock, send its token (Lock-Token header).',
      { details: { lockedBy: holder.email ?? holder.organisation, lockedUntil: lock.expiresAt, ...(path === null ? {} : { lockRoot: path }) } });
  }
}

function organisationOf(target: LockTarget): string {
  return target.kind === 'document' ? target.document.organisationId : target.collection.organisationId;
}

function organisationOfTouch(t: WriteTouch): string {
  return t.kind === 'content' ? organisationOf(t.target) : t.collection.organisationId;
}

/** For "does it apply here" questions only the lock's own resource matters, not where that sits. */
function lockOnShallow(lock: ResourceLock): LockOn {
  return { depth: lock.depth, place: { documentId: lock.documentId, collectionId: lock.collectionId, ancestors: [] } };
}

function lockTarget(lock: ResourceLock): AuditTarget {
  return {
    organisationId: lock.organisationId,
    ids: { lockToken: lock.token, ...(lock.documentId ? { documentId: lock.documentId } : { collectionId: lock.collectionId! }) },
  };
}
