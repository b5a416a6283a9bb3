// One name, one thing, in a folder: a document and a sub-collection may not share a name in one collection,
// as a file and a folder may not in a file share's folder (WebDAV, and so Explorer and Finder, could reach
// only one of them). Every request that gives a document or a collection a name asks here: before its
// transaction (advice: nameHeld) and inside it (claimFolderName: the one claim both kinds share); a clash is
// told by tellNameTaken, which says that something of that name exists only to someone who may see it.
import { DomainError, LiveNameTakenError } from '../domain/errors.js';
import type { Repos } from '../domain/repositories.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';

/** What holds a name in a folder. */
export type NameHolder = { kind: 'document'; document: Document } | { kind: 'collection'; collection: Collection };

/** Where a name is taken: a folder (`folderId`), or the organisation's top level (null, which holds collections only). */
export interface NamePlace {
  organisationId: string;
  folderId: string | null;
  name: string;
}

/** Which kind takes the name (its own kind is told first where old data holds both), and what is not in its way (itself, what it replaces). */
export interface NameClaimant {
  kind: NameHolder['kind'];
  except?: readonly (string | undefined)[];
}

const holderId = (h: NameHolder): string => (h.kind === 'document' ? h.document.id : h.collection.id);

function firstInTheWay(claimant: NameClaimant, found: { document: Document | undefined; collection: Collection | undefined }): NameHolder | undefined {
  const document: NameHolder | undefined = found.document && { kind: 'document', document: found.document };
  const collection: NameHolder | undefined = found.collection && { kind: 'collection', collection: found.collection };
  const order = claimant.kind === 'document' ? [document, collection] : [collection, document];
  return order.find((h): h is NameHolder => h !== undefined && !(claimant.except ?? []).includes(holderId(h)));
}

/** Before the transaction (advice only): the live document or sub-collection holding the name, if any. */
export async function nameHeld(repos: Repos, place: NamePlace, claimant: NameClaimant): Promise<NameHolder | undefined> {
  const { organisationId, folderId, name } = place;
  return firstInTheWay(claimant, {
    document: folderId === null ? undefined : await repos.documents.byName(folderId, name),
    collection: await repos.collections.childByName(organisationId, folderId, name),
  });
}

/**
 * In the transaction that gives the name, after its row locks: the claim both kinds share (on PostgreSQL one
 * advisory lock per folder and name, so a document and a collection taking one name wait for each other), then
 * what holds the name now, of either kind. The top level holds no documents, so only collections claim there.
 */
export async function claimFolderName(repos: Repos, place: NamePlace, claimant: NameClaimant): Promise<NameHolder | undefined> {
  const { organisationId, folderId, name } = place;
  const collection = await repos.collections.claimName(organisationId, folderId, name);
  // The same lock again (held already, so no wait): the live document read under it.
  const document = folderId === null ? undefined : await repos.documents.claimName(folderId, name);
  return firstInTheWay(claimant, { document, collection });
}

/** Inside the transaction: the refusal for a name found held, answered by afterNameTaken once it has rolled back. */
export function takenWithin(holder: NameHolder, documentMessage: string, claimant: Kind): DomainError {
  return holder.kind === 'document' ? new NameTakenWithin(holder.document, documentMessage, claimant) : new CollectionNameTakenWithin(holder.collection, claimant);
}

type Kind = NameHolder['kind'];

/**
 * In the same transaction, after the claim: the write that gives the claimed name. Should the database's live-name
 * index refuse it all the same (a race the claim missed), it is refused as the claim refuses, once the transaction
 * has rolled back (afterNameTaken): the claim gives the words, the index is the backstop.
 */
export async function giveClaimedName(place: NamePlace, claimant: NameClaimant, documentMessage: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    throw error instanceof LiveNameTakenError ? new NameTakenAtWrite(place, claimant, documentMessage, error) : error;
  }
}

/** A name the claim found free but the database's live-name index refused: what holds it is read after the rollback. */
export class NameTakenAtWrite extends DomainError {
  constructor(readonly place: NamePlace, readonly claimant: NameClaimant, readonly visibleMessage: string, cause: LiveNameTakenError) {
    super('CONFLICT', nameUnusable(claimant.kind, place.name), { cause });
  }
}

/** A name already taken (409); `visible` when the actor may see what holds it, so an interface with its own words for "something is already there" may say them, and only then. */
export abstract class NameTaken extends DomainError {
  constructor(message: string, readonly visible: boolean) {
    super('CONFLICT', message);
  }
}

/**
 * What someone who may not see what holds the name hears: the words a later request of their own kind hears
 * (a folder create's, an upload's), whichever kind is in the way, so they learn that the name is taken, never
 * whether by a document or a folder.
 */
const nameUnusable = (claimant: Kind, name: string): string =>
  (claimant === 'collection' ? `The name "${name}" cannot be used here. Choose another name.` : `The name "${name}" cannot be used in this collection. Choose another name.`);

/** A collection's name already taken among its siblings (or in a folder, by a collection where a document was to go). */
export class CollectionNameTaken extends NameTaken {
  constructor(readonly clash: Collection, visible: boolean, claimant: Kind = 'collection') {
    super(visible ? `A collection called "${clash.name}" already exists there.` : nameUnusable(claimant, clash.name), visible);
  }
}

/** A document's name already taken in its collection (or by a document where a sub-collection was to go). */
export class DocumentNameTaken extends NameTaken {
  constructor(readonly clash: Document, visibleMessage: string, visible: boolean, claimant: Kind = 'document') {
    super(visible ? visibleMessage : nameUnusable(claimant, clash.name), visible);
  }
}

/**
 * A collection's name found taken inside the transaction that was to give it (claimFolderName): another
 * request took it since the check before the transaction. Whether the actor may be told a collection of
 * that name exists needs reads the transaction cannot make (SQLite's one connection is its), so it is answered by
 * afterNameTaken once the transaction has rolled back, as a later duplicate is; unanswered, it still tells nothing.
 */
export class CollectionNameTakenWithin extends DomainError {
  constructor(readonly clash: Collection, readonly claimant: Kind = 'collection') {
    super('CONFLICT', nameUnusable(claimant, clash.name));
  }
}

/** The same for a name a document holds (another request took it while this one's bytes arrived, say). */
export class NameTakenWithin extends DomainError {
  constructor(readonly clash: Document, readonly visibleMessage: string, readonly claimant: Kind = 'document') {
    super('CONFLICT', nameUnusable(claimant, clash.name));
  }
}

/**
 * A name is unique in its folder, so a clash with something the actor may not see cannot be hidden (that would
 * need two of one name). It is told without pointing at it and audited as the refused read or listing it is
 * (as WebDAV does for a path); `documentMessage` is what someone who may read a document in the way hears, and
 * `claimant` the kind the refused request was giving the name, whose words someone who may not see it hears.
 */
export async function tellNameTaken(access: AccessService, actor: Actor, holder: NameHolder, documentMessage: string, claimant: Kind): Promise<NameTaken> {
  if (holder.kind === 'collection') {
    const clash = holder.collection;
    const decision = await access.check(actor, 'collection.list', collectionResource(clash), { organisationId: clash.organisationId, ids: { collectionId: clash.id } });
    return new CollectionNameTaken(clash, decision.allow, claimant);
  }
  const clash = holder.document;
  const decision = await access.check(actor, 'document.read', documentResource(clash), { organisationId: clash.organisationId, ids: { documentId: clash.id } });
  return new DocumentNameTaken(clash, documentMessage, decision.allow, claimant);
}

/** What holds a name a collection was to take (created, renamed or moved there), as this actor is told it. */
export async function tellCollectionNameTaken(access: AccessService, actor: Actor, holder: NameHolder): Promise<NameTaken> {
  return tellNameTaken(access, actor, holder, documentInTheWay(holder.kind === 'document' ? holder.document.name : holder.collection.name), 'collection');
}

/**
 * `error`, or, for a name found taken inside a transaction (either kind), what tellNameTaken tells this actor. A name
 * the index refused is told by what holds it now (read after the rollback); should nothing hold it any more, the
 * refusal that tells nothing (409) stands.
 */
export async function afterNameTaken(access: AccessService, repos: Repos, actor: Actor, error: unknown): Promise<unknown> {
  if (error instanceof NameTakenAtWrite) {
    const holder = await nameHeld(repos, error.place, error.claimant);
    return holder ? tellNameTaken(access, actor, holder, error.visibleMessage, error.claimant.kind) : error;
  }
  if (error instanceof NameTakenWithin) return tellNameTaken(access, actor, { kind: 'document', document: error.clash }, error.visibleMessage, error.claimant);
  if (error instanceof CollectionNameTakenWithin) return tellNameTaken(access, actor, { kind: 'collection', collection: error.clash }, '', error.claimant);
  return error;
}

/** What someone who may read a document in the way of a folder hears. */
export const documentInTheWay = (name: string): string => `A document called "${name}" already exists there.`;
