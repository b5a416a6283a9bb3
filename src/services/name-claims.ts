// One name, one thing, in a folder: a document and a sub-collection may not share a name in one collection,
// as a file and a folder may not in a file share's folder (WebDAV, and so Explorer and Finder, could reach
// only one of them). Names that differ only in capital letters are one name (domain/names.ts nameKey), as they
// are to Explorer and Finder: `minutes.docx` beside `Minutes.docx` would be a look-alike a mapped drive confuses.
// Every request that gives a document or a collection a name asks here: before its transaction (advice: nameHeld)
// and inside it (claimFolderName: the one claim both kinds share); a clash is told by tellNameTaken, which says
// that something of that name exists only to someone who may see it.
import { DomainError, LiveNameTakenError } from '../domain/errors.js';
import type { Repos } from '../domain/repositories.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';

/** What holds a name in a folder, and the name that was asked for (which may differ from its in capital letters only). */
export type NameHolder = ({ kind: 'document'; document: Document } | { kind: 'collection'; collection: Collection }) & { asked?: string };

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

const holderName = (h: NameHolder): string => (h.kind === 'document' ? h.document.name : h.collection.name);

/** Of what holds the name in any case (oldest first of each kind), the first that is neither the claimant itself nor what it replaces. */
function firstInTheWay(claimant: NameClaimant, asked: string, found: { documents: readonly Document[]; collections: readonly Collection[] }): NameHolder | undefined {
  const documents = found.documents.map((document): NameHolder => ({ kind: 'document', document, asked }));
  const collections = found.collections.map((collection): NameHolder => ({ kind: 'collection', collection, asked }));
  const order = claimant.kind === 'document' ? [...documents, ...collections] : [...collections, ...documents];
  return order.find((h) => !(claimant.except ?? []).includes(holderId(h)));
}

/** Before the transaction (advice only): the live document or sub-collection holding the name, if any. */
export async function nameHeld(repos: Repos, place: NamePlace, claimant: NameClaimant): Promise<NameHolder | undefined> {
  const { organisationId, folderId, name } = place;
  return firstInTheWay(claimant, name, {
    documents: folderId === null ? [] : await repos.documents.holdersOfName(folderId, name),
    collections: await repos.collections.childrenHoldingName(organisationId, folderId, name),
  });
}

/**
 * In the transaction that gives the name, after its row locks: the claim both kinds share (on PostgreSQL one
 * advisory lock per folder and name, so a document and a collection taking one name wait for each other), then
 * what holds the name now, of either kind. The top level holds no documents, so only collections claim there.
 */
export async function claimFolderName(repos: Repos, place: NamePlace, claimant: NameClaimant): Promise<NameHolder | undefined> {
  const { organisationId, folderId, name } = place;
  const collections = await repos.collections.claimName(organisationId, folderId, name);
  // The same lock again (held already, so no wait): the live documents read under it.
  const documents = folderId === null ? [] : await repos.documents.claimName(folderId, name);
  return firstInTheWay(claimant, name, { documents, collections });
}

/** Inside the transaction: the refusal for a name found held, answered by afterNameTaken once it has rolled back. */
export function takenWithin(holder: NameHolder, documentMessage: string, claimant: Kind): DomainError {
  return holder.kind === 'document' ? new NameTakenWithin(holder.document, documentMessage, claimant, holder.asked) : new CollectionNameTakenWithin(holder.collection, claimant, holder.asked);
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

/**
 * A name already taken (409); `visible` when the actor may see what holds it, so an interface with its own words for
 * "something is already there" may say them, and only then; `inAnotherCase` when what holds it is called otherwise in
 * capital letters only, so nothing is at the name as asked (a WebDAV path of it resolves to nothing) and those words
 * would not be true: the service's own (409) are said instead.
 */
export abstract class NameTaken extends DomainError {
  constructor(message: string, readonly visible: boolean, readonly inAnotherCase: boolean) {
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

/**
 * What someone who may see what holds the name hears when its name differs from the one asked for in capital letters
 * only (the words of each request are for the name as asked, which is not the holder's): its own name, and why.
 */
export const heldInAnotherCase = (kind: Kind, name: string): string =>
  `A ${kind} called "${name}" already exists there (names that differ only in capital letters count as the same name).`;

/** A collection's name already taken among its siblings (or in a folder, by a collection where a document was to go). */
export class CollectionNameTaken extends NameTaken {
  /** `asked`: the name the request gave, which someone who may not see the collection hears back (never its own spelling). */
  constructor(readonly clash: Collection, visible: boolean, claimant: Kind = 'collection', asked: string = clash.name) {
    super(visible ? (asked === clash.name ? `A collection called "${clash.name}" already exists there.` : heldInAnotherCase('collection', clash.name)) : nameUnusable(claimant, asked), visible, asked !== clash.name);
  }
}

/** A document's name already taken in its collection (or by a document where a sub-collection was to go). */
export class DocumentNameTaken extends NameTaken {
  constructor(readonly clash: Document, visibleMessage: string, visible: boolean, claimant: Kind = 'document', asked: string = clash.name) {
    super(visible ? (asked === clash.name ? visibleMessage : heldInAnotherCase('document', clash.name)) : nameUnusable(claimant, asked), visible, asked !== clash.name);
  }
}

/**
 * A collection's name found taken inside the transaction that was to give it (claimFolderName): another
 * request took it since the check before the transaction. Whether the actor may be told a collection of
 * that name exists needs reads the transaction cannot make (SQLite's one connection is its), so it is answered by
 * afterNameTaken once the transaction has rolled back, as a later duplicate is; unanswered, it still tells nothing.
 */
export class CollectionNameTakenWithin extends DomainError {
  constructor(readonly clash: Collection, readonly claimant: Kind = 'collection', readonly asked: string = clash.name) {
    super('CONFLICT', nameUnusable(claimant, asked));
  }
}

/** The same for a name a document holds (another request took it while this one's bytes arrived, say). */
export class NameTakenWithin extends DomainError {
  constructor(readonly clash: Document, readonly visibleMessage: string, readonly claimant: Kind = 'document', readonly asked: string = clash.name) {
    super('CONFLICT', nameUnusable(claimant, asked));
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
    return new CollectionNameTaken(clash, decision.allow, claimant, holder.asked);
  }
  const clash = holder.document;
  const decision = await access.check(actor, 'document.read', documentResource(clash), { organisationId: clash.organisationId, ids: { documentId: clash.id } });
  return new DocumentNameTaken(clash, documentMessage, decision.allow, claimant, holder.asked);
}

/** What holds a name a collection was to take (created, renamed or moved there), as this actor is told it. */
export async function tellCollectionNameTaken(access: AccessService, actor: Actor, holder: NameHolder): Promise<NameTaken> {
  return tellNameTaken(access, actor, holder, documentInTheWay(holderName(holder)), 'collection');
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
  if (error instanceof NameTakenWithin) return tellNameTaken(access, actor, { kind: 'document', document: error.clash, asked: error.asked }, error.visibleMessage, error.claimant);
  if (error instanceof CollectionNameTakenWithin) return tellNameTaken(access, actor, { kind: 'collection', collection: error.clash, asked: error.asked }, '', error.claimant);
  return error;
}

/** What someone who may read a document in the way of a folder hears. */
export const documentInTheWay = (name: string): string => `A document called "${name}" already exists there.`;
