// Checking the audit log against what was signed: the stored tree against every checkpoint (in the
// database and outside it), every stored event recomputed into the tree, and the rows that are ways in
// (arrangements, credentials, SCIM tokens, identity providers and links, people's access) and the rows that keep or
// release records (legal holds, disposal decisions and approvals, where records sit) and subject access
// requests each backed by its event.
// The signer (AuditSequencerService) asks checkHistory before each signature; `audit verify` and the integrity
// page run checkWholeLog.
import { unrecordedArrangement } from '../domain/audit/arrangement-record.js';
import { DISPOSAL_RECORD_ACTIONS, PROPOSE_EARLY_ACTION, unrecordedDisposalRow } from '../domain/audit/disposal-record.js';
import { HOLD_RECORD_ACTIONS, unrecordedHoldRow } from '../domain/audit/hold-record.js';
import { BIN_RECORD_ACTIONS, COLLECTION_BIN_ACTIONS, unrecordedCollectionBinState, unrecordedDocumentBinState } from '../domain/audit/bin-record.js';
import { COLLECTION_PLACEMENT_ACTIONS, DOCUMENT_PLACEMENT_ACTIONS, unrecordedPlacementRow } from '../domain/audit/placement-record.js';
import type { DocumentFacts } from '../domain/audit/access-facts-record.js';
import {
  COLLECTION_FACT_ACTIONS, DOCUMENT_CLASSIFICATION_ACTIONS, SUBTREE_RECOMPUTING_ACTIONS, unrecordedCollectionFacts, unrecordedDocumentFacts,
} from '../domain/audit/access-facts-record.js';
import { checkTreeExtends, type HistoryCheck, type SourcedCheckpoint } from '../domain/audit/checkpoint-history.js';
import { unrecordedCredential } from '../domain/audit/credential-record.js';
import { GROUP_MAPPING_ACTIONS, IDENTITY_RECORD_ACTIONS, unrecordedGroupMappings, unrecordedIdentityRow } from '../domain/audit/identity-record.js';
import { ORPHAN_RECORD_ACTIONS, removedOrphanNamed, sweptOrphans } from '../domain/audit/orphan-removal-record.js';
import { PERSON_EVENT_ACTIONS, unrecordedPerson } from '../domain/audit/person-record.js';
import { PERSON_SECRET_ACTIONS, replayedSignInSecret, unrecordedSignInSecret } from '../domain/audit/person-secrets-record.js';
import { SIGN_IN_LINK_ACTIONS, unissuedLinkTaken } from '../domain/audit/sign-in-link-record.js';
import { SUBJECT_ACCESS_RECORD_ACTIONS, unrecordedSubjectAccessRow } from '../domain/audit/subject-access-record.js';
import { SIGN_IN_SEALS_ACTION } from './sign-in-seal-upgrade.js';
import { CompactRange, HASH_SIZE, leafHash, treeRoot, type SubtreeHashes } from '../domain/audit/merkle.js';
import { openCheckpoint } from '../domain/audit/signed-note.js';
import { verifyLog, type LogCheck, type LogCheckpoint } from '../domain/audit/verify-log.js';
import { IntegrityError } from '../domain/errors.js';
import type { CheckpointCopies } from '../domain/ports.js';
import type { Repos, UnsequencedAuditEvent } from '../domain/repositories.js';

/** Whose checkpoints these are: the log's verifier key and origin line. */
export interface Signer {
  verifierKey: string;
  origin: string;
}

export type AuditVerification = LogCheck & {
  /** 'matched': offsite copies exist and every check passed; 'mismatch': some check failed. */
  offsite: 'matched' | 'absent' | 'mismatch';
  /** How many offsite checkpoint files were checked. */
  offsiteCheckpoints: number;
};

/** The stored tree of `size` events, checked to extend every given checkpoint; its root when it does. */
export async function checkHistory(checkpoints: SourcedCheckpoint[], size: number, hashes: SubtreeHashes, signer: Signer): Promise<HistoryCheck & { root: Buffer }> {
  let root: Buffer;
  try {
    root = await treeRoot(size, hashes);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    return { ok: false, source: 'the stored tree', firstBadSeq: 0, problem: `The stored tree of ${size} events cannot be read: ${err.message}.`, root: Buffer.alloc(0) };
  }
  return { ...(await checkTreeExtends(checkpoints, { size, root, hashes }, signer.verifierKey, signer.origin)), root };
}

/**
 * Recomputes the whole tree from the stored events and checks it against every checkpoint, in the
 * database and outside it (each offsite file, the signer's own copy). `pendingBatch` pending rows are
 * checked for a seal too. The answer names where it failed, which may be any organisation's event.
 */
export async function checkWholeLog(o: { repos: Repos; copies: CheckpointCopies; signer: Signer; pendingBatch: number }): Promise<AuditVerification> {
  const { repos, signer } = o;
  // Outside copies, then stored checkpoints, then the tree: the same order as the signer, for the same reason.
  const outside = await o.copies.all();
  const stored = (await repos.audit.checkpoints()).map((c): SourcedCheckpoint => ({ source: `stored checkpoint for size ${c.treeSize}`, note: c.note, claimedSize: c.treeSize }));
  const everyCheckpoint = [...outside.offsite, ...outside.newest, ...outside.signer, ...stored];
  const storedSize = await repos.audit.treeSize();
  const hashes = memoised(subtreesOf(repos));
  const history = await checkHistory(everyCheckpoint, storedSize, hashes, signer);

  const leafHashes = new Map<number, Buffer>();
  let nextSeq = 0;
  // The document id a row is filed under is a column beside the event, not part of it (so not under
  // its hash): changed, it would take an event out of the document's history, or put one in another's.
  let misfiled: LogCheck | null = null;
  // An event in the tree whose seal is not that of what it says vouches for nothing (audit.repo.ts #vouching):
  // sealed since it was written, it was changed in the database directly (what it says, if the tree below
  // does not name it first, or only its seal).
  let unsealed: { seq: number; action: string } | null = null;
  async function* events() {
    for await (const { event, seal, leafHash, filedUnderDocumentId } of repos.audit.sequenced()) {
      if (unsealed === null && event.seq >= 0) {
        const { seq: _seq, ...said } = event;
        if (repos.audit.writtenByService({ seal }, said) === null) unsealed = { seq: event.seq, action: String(event.action) };
      }
      if (leafHash) {
        leafHashes.set(event.seq, leafHash);
        if (leafHashes.size > 10_000) leafHashes.delete(leafHashes.keys().next().value as number);
      }
      // (A row whose target ids are not an object of strings fails as malformed in verifyLog.)
      const documentId = typeof event.targetIds === 'object' && event.targetIds !== null ? (event.targetIds.documentId ?? null) : null;
      if (misfiled === null && filedUnderDocumentId !== documentId) {
        misfiled = { ok: false, firstBadSeq: event.seq, problem: `Event ${event.seq} is filed under document ${filedUnderDocumentId ?? 'none'} but concerns ${documentId === null ? 'no document' : `document ${documentId}`}: its row was changed in the database directly, so the document's history shows it wrongly.` };
      }
      nextSeq = event.seq + 1;
      yield event;
    }
  }
  let result: LogCheck;
  try {
    result = await verifyLog(events(), forLog(everyCheckpoint, signer.verifierKey), signer.verifierKey, async (seq) => leafHashes.get(seq), { origin: signer.origin });
  } catch (err) {
    // A row that cannot even be read as an event (target ids that are not JSON, a seq that is not a number).
    if (!(err instanceof IntegrityError)) throw err;
    result = { ok: false, firstBadSeq: nextSeq, problem: `${sentence(err.message)}.` };
  }
  if (result.ok && misfiled) result = misfiled;
  // Read after the events, so concurrent sequencing can only make it larger: an event numbered
  // beyond the sequencer's tree was never sequenced (written straight into the database).
  const sequencedSize = await repos.audit.treeSize();
  if (result.ok && result.treeSize > sequencedSize) {
    result = { ok: false, firstBadSeq: sequencedSize, problem: `Events from seq ${sequencedSize} to ${result.treeSize - 1} carry sequence numbers the sequencer never assigned (its tree has ${sequencedSize} events): they were written into the database directly.` };
  }
  if (result.ok && history.ok) {
    try {
      const tail = { signedSize: history.signedSize, signedRoot: history.signedRoot, size: storedSize, root: history.root };
      result = (await rowsNotVouchedFor(repos, { hashes, tail, sequencedSize, pendingBatch: o.pendingBatch, unsealed })) ?? result;
    } catch (err) {
      // A row that cannot even be read as an event (target ids that are not JSON, a seq that is not a number).
      if (!(err instanceof IntegrityError)) throw err;
      result = { ok: false, firstBadSeq: sequencedSize, problem: `${sentence(err.message)}.` };
    }
  }
  if (!history.ok) {
    // The events say more exactly where the damage starts; the history names the checkpoint it contradicts.
    result = result.ok
      ? { ok: false, firstBadSeq: history.firstBadSeq, problem: history.problem }
      : { ok: false, firstBadSeq: result.firstBadSeq, problem: `${history.problem} Recomputed from the events: ${result.problem}` };
  }
  const offsite = outside.offsite.length === 0 ? 'absent' : result.ok ? 'matched' : 'mismatch';
  return { ...result, offsite, offsiteCheckpoints: outside.offsite.length };
}


/** An error's message (which the sequencer's alarm puts mid-sentence) as the start of a sentence. */
const sentence = (message: string): string => `${message.charAt(0).toUpperCase()}${message.slice(1)}`;

/**
 * The first row the log does not vouch for, if there is one: the tree past its signed prefix not
 * being the tree of its sealed events, an event under a checkpoint or a pending one without a valid seal, or an arrangement,
 * credential, identity, group mapping, person, password or MFA, legal hold, subject access, disposal decision or approval, placement or bin row no event records. Each check runs only if those before it passed.
 */
async function rowsNotVouchedFor(repos: Repos, o: { hashes: SubtreeHashes; tail: UnsignedTail; sequencedSize: number; pendingBatch: number; unsealed: { seq: number; action: string } | null }): Promise<LogCheck | null> {
  const fail = (firstBadSeq: number, problem: string): LogCheck => ({ ok: false, firstBadSeq, problem });
  const unsigned = await unsignedTailProblem(repos, o.hashes, o.tail);
  if (unsigned) return fail(unsigned.seq, unsigned.problem);
  // Under a checkpoint (the tail's were checked just above): what it says is what was signed, but not under its seal.
  if (o.unsealed) {
    return fail(o.unsealed.seq, `Event ${o.unsealed.seq} (${o.unsealed.action}) carries no valid seal, though it says what was signed: a seal was cleared or written into the database directly, not by Strongroom (or, sequenced before seals existed, no checkpoint in the database vouched for it when it was to be sealed), so it vouches for nothing.`);
  }
  const forged = await firstForgedPending(repos, o.pendingBatch);
  if (forged) return fail(o.sequencedSize, forged);
  // Arrangements read before their changes: a change committed in between adds its event too.
  const arrangements = await repos.arrangements.list({});
  const unrecordedChange = unrecordedArrangement(arrangements, await repos.audit.arrangementChanges());
  if (unrecordedChange) return fail(o.sequencedSize, unrecordedChange);
  // Credentials read before their creations, for the same reason.
  const credentials = await repos.users.usableCredentialsWithScope();
  const unrecordedCredentialRow = unrecordedCredential(credentials, await repos.audit.credentialCreations());
  if (unrecordedCredentialRow) return fail(o.sequencedSize, unrecordedCredentialRow);
  // SCIM tokens, identity providers and subject links: ways in too. Rows read before their events, as above.
  const rows = { scimTokens: await repos.scim.usableTokens(), providers: await repos.federation.everyProvider(), links: await repos.federation.everyIdentity() };
  const unrecordedIdentity = unrecordedIdentityRow(rows, await repos.audit.allowedEvents(IDENTITY_RECORD_ACTIONS));
  if (unrecordedIdentity) return fail(o.sequencedSize, unrecordedIdentity);
  // The group mapping: what the directory and every sign-in grant. It must be what each organisation's
  // latest setting made it, so a setting committed between the two reads looks like rows written by
  // hand: read once more, and only a mapping that still disagrees is named.
  const mappingProblem = async () => unrecordedGroupMappings(await repos.federation.everyGroupMapping(), await repos.audit.allowedEvents(GROUP_MAPPING_ACTIONS, { logOrder: true }));
  if ((await mappingProblem()) !== null) {
    const unrecordedMapping = await mappingProblem();
    if (unrecordedMapping) return fail(o.sequencedSize, unrecordedMapping);
  }
  // People's organisation, address, roles, teams, clearance and disabled flag: what the policy reads of
  // them. Each must be what their latest change records, so people are read before their changes, and a
  // difference a change committed between the two reads could explain is looked at once more, the state
  // then read allowed to be any recorded at or after the changes first read.
  const personChanges = () => repos.audit.allowedEvents(PERSON_EVENT_ACTIONS, { logOrder: true });
  const people = await repos.users.everyone();
  const changes = await personChanges();
  if (unrecordedPerson(people, changes) !== null) {
    // (Arguments are read in order: the people again, then their changes.)
    const unrecordedPersonRow = unrecordedPerson(await repos.users.everyone(), await personChanges(), changes);
    if (unrecordedPersonRow) return fail(o.sequencedSize, unrecordedPersonRow);
  }
  // People's password hashes and MFA state: what signs them in. Each must be what their latest recorded
  // write of it left (person-secrets-record.ts), so, as for the group mapping, a write committed between
  // reading the rows and their events is allowed for by reading both once more.
  let secretEvents: Awaited<ReturnType<typeof repos.audit.allowedEvents>> = [];
  const secretProblem = async () => unrecordedSignInSecret(await repos.users.everySignInSecret(), (secretEvents = await repos.audit.allowedEvents(PERSON_SECRET_ACTIONS, { logOrder: true })));
  if ((await secretProblem()) !== null) {
    const unrecordedSecret = await secretProblem();
    if (unrecordedSecret) return fail(o.sequencedSize, unrecordedSecret);
  }
  // The same writes, for a row put back whole to an earlier sealed state of its own (which they then match).
  const replayedSecret = replayedSignInSecret(secretEvents);
  if (replayedSecret) return fail(o.sequencedSize, replayedSecret);
  // And a link to set a password put back whole after a reset (or after its use): its use must be of the
  // person's latest issued link, unused until then (sign-in-link-record.ts). Events only: no row is read.
  const replayedLink = unissuedLinkTaken(await repos.audit.allowedEvents(SIGN_IN_LINK_ACTIONS, { logOrder: true }));
  if (replayedLink) return fail(o.sequencedSize, replayedLink);
  // The upgrade to sign-in seals seals rows found unsealed, once in a log's life (sign-in-seal-upgrade.ts). A
  // second time means the seals' columns were dropped and its migration's record deleted, so that a restart
  // would seal rows written by hand: named, whatever it sealed.
  const sealings = await repos.audit.allowedEvents([SIGN_IN_SEALS_ACTION], { logOrder: true });
  if (sealings.length > 1) {
    return fail(o.sequencedSize, `Sign-in secrets found unsealed were sealed ${sealings.length} times; an upgrade seals them once: the seals' migration was undone in the database directly, not by Strongroom, so whatever the later sealing sealed may have been written by hand.`);
  }
  // Legal holds and disposal decisions and approvals: what keeps a record, and what lets the disposal job
  // destroy one. Rows read before their events, as above.
  const holdRows = { holds: await repos.holds.everyHold(), items: await repos.holds.everyItem() };
  const unrecordedHold = unrecordedHoldRow(holdRows, await repos.audit.allowedEvents(HOLD_RECORD_ACTIONS));
  if (unrecordedHold) return fail(o.sequencedSize, unrecordedHold);
  // Subject access requests, their parts and the records in each response: what a person is sent, and
  // when. Their events are read before the rows as well as after: the rows must show every step the
  // first read records, and the second must record every step the rows show.
  const subjectAccessEvents = () => repos.audit.allowedEvents(SUBJECT_ACCESS_RECORD_ACTIONS);
  const subjectAccessBefore = await subjectAccessEvents();
  const subjectAccessRows = { requests: await repos.subjectAccess.everyRequest(), parts: await repos.subjectAccess.everyPart(), items: await repos.subjectAccess.everyItem() };
  const unrecordedSubjectAccess = unrecordedSubjectAccessRow(subjectAccessRows, await subjectAccessEvents(), subjectAccessBefore);
  if (unrecordedSubjectAccess) return fail(o.sequencedSize, unrecordedSubjectAccess);
  const disposalRows = { batches: await repos.disposal.everyBatch(), items: await repos.disposal.everyDecidedItem() };
  const unrecordedDisposal = unrecordedDisposalRow(disposalRows, await repos.audit.allowedEvents([...DISPOSAL_RECORD_ACTIONS, PROPOSE_EARLY_ACTION]));
  if (unrecordedDisposal) return fail(o.sequencedSize, unrecordedDisposal);
  const namedOrphan = await removedOrphanNamedAgain(repos);
  if (namedOrphan) return fail(o.sequencedSize, namedOrphan);
  const unrecordedPlacement = await unrecordedPlacementRows(repos);
  if (unrecordedPlacement) return fail(o.sequencedSize, unrecordedPlacement);
  const unrecordedAccessFacts = await unrecordedAccessFactRows(repos);
  return unrecordedAccessFacts ? fail(o.sequencedSize, unrecordedAccessFacts) : null;
}

/** A blob the orphan sweep condemned or deleted that a version (or the replica's ledger) names again: only a hand could. */
async function removedOrphanNamedAgain(repos: Repos): Promise<string | null> {
  for (const [store, blobs] of sweptOrphans(await repos.audit.allowedEvents([...ORPHAN_RECORD_ACTIONS]))) {
    if (store !== 'primary' && store !== 'replica') continue;
    const blobIds = [...blobs.keys()];
    const named = await repos.orphanBlobs.referencedAmong(store, blobIds);
    const first = blobIds.find((id) => named.has(id));
    if (first !== undefined) return removedOrphanNamed(store, first, blobs.get(first)!);
  }
  return null;
}

/**
 * What access is decided on: a classification lowered by hand opens a record to everyone cleared below
 * it, and a service area or arrangement binding written by hand opens it to another council's staff.
 * Each must be what the record's own events and the moves above it give (domain/audit/access-facts-record.ts).
 * Read as the placements are: rows before events, documents a page at a time, a failing read read again.
 */
async function unrecordedAccessFactRows(repos: Repos): Promise<string | null> {
  const collectionsNow = async () => {
    const collections = await repos.collections.everyPlacement();
    const events = await repos.audit.allowedEvents(COLLECTION_FACT_ACTIONS, { logOrder: true });
    return { collections, problem: unrecordedCollectionFacts(collections, events) };
  };
  let { collections, problem } = await collectionsNow();
  if (problem !== null) ({ collections, problem } = await collectionsNow());
  if (problem !== null) return problem;
  for (let after: string | null = null; ;) {
    const documents = await repos.documents.placementPage(after, 500);
    if (documents.length === 0) return null;
    const pageProblem = async (page: readonly DocumentFacts[]) => {
      const events = await repos.audit.allowedEvents(DOCUMENT_CLASSIFICATION_ACTIONS, { documentIds: page.map((d) => d.id), withEvery: SUBTREE_RECOMPUTING_ACTIONS, logOrder: true });
      return unrecordedDocumentFacts(page, collections, events);
    };
    if ((await pageProblem(documents)) !== null) {
      // Read again with the collections as they are now: an honest folder move meanwhile changed both.
      ({ collections } = await collectionsNow());
      const again = await pageProblem(await repos.documents.placementPage(after, 500));
      if (again) return again;
    }
    after = documents[documents.length - 1]!.id;
  }
}

/**
 * Where records sit, and whether they are in the bin: what a hold on a collection covers, so a row
 * moved by hand frees a held record, and what everyone who may read a record sees of it, so a deleted_at
 * written by hand hides a live one or puts back a deleted one. Each collection's parent and each
 * document's collection must be where its latest placement event put it, and each one's time in the bin
 * what its latest deletion or restore records. Rows read before their events; documents a page at a
 * time, with the events filed under them. An honest move, deletion or restore committed between the two
 * reads looks like a row changed by hand, so a read that fails is read again: only a row that still
 * disagrees with its latest event is named.
 */
async function unrecordedPlacementRows(repos: Repos): Promise<string | null> {
  const collectionsProblem = async () => {
    const collections = await repos.collections.everyPlacement();
    const events = await repos.audit.allowedEvents([...COLLECTION_PLACEMENT_ACTIONS, ...COLLECTION_BIN_ACTIONS]);
    return unrecordedPlacementRow({ documents: [], collections }, events) ?? unrecordedCollectionBinState(collections, events);
  };
  if ((await collectionsProblem()) !== null) {
    const again = await collectionsProblem();
    if (again) return again;
  }
  const documentActions = [...new Set([...DOCUMENT_PLACEMENT_ACTIONS, ...BIN_RECORD_ACTIONS])];
  for (let after: string | null = null; ;) {
    const documents = await repos.documents.placementPage(after, 500);
    if (documents.length === 0) return null;
    const pageProblem = async (page: readonly { id: string; collectionId: string; deletedAt: string | null }[]) => {
      const events = await repos.audit.allowedEvents(documentActions, { documentIds: page.map((d) => d.id) });
      return unrecordedPlacementRow({ documents: page, collections: [] }, events)
        ?? page.reduce<string | null>((found, d) => found ?? unrecordedDocumentBinState(`Document ${d.id}`, d, events), null);
    };
    if ((await pageProblem(documents)) !== null) {
      const again = await pageProblem(await repos.documents.placementPage(after, 500));
      if (again) return again;
    }
    after = documents[documents.length - 1]!.id;
  }
}

/** The tree past its signed prefix, as the database holds it, to be checked against its events. */
export interface UnsignedTail {
  /** The largest size a trusted checkpoint is signed for, and the root it signs. */
  signedSize: number;
  signedRoot: Buffer;
  /** The stored tree's size and root (from its nodes). */
  size: number;
  root: Buffer;
}

/**
 * Why the stored tree past its signed prefix is not the tree of events the service wrote, if it is
 * not. The sequencer numbers only sealed rows, but the tree's nodes, its size and the rows' seqs are
 * all rows whoever can write the database can write: an event could be numbered into the tree by
 * hand, or the nodes made to hold a leaf no row holds. So the tree is rebuilt here: from the nodes at
 * the signed size (checked against the signed root), by appending the leaf of each event from there,
 * each in its place and carrying a valid seal, and the result must be the stored tree's root. The
 * signer asks this before it signs; verify asks it of the tail no checkpoint covers yet. Events
 * under a checkpoint were checked before it was signed (or, numbered before seals existed, signed by
 * the builds of that time).
 */
export async function unsignedTailProblem(repos: Repos, hashes: SubtreeHashes, tail: UnsignedTail): Promise<{ seq: number; problem: string } | null> {
  if (tail.size <= tail.signedSize) return null;
  const from = tail.signedSize;
  const byHand = 'in the database directly, not by Strongroom\'s sequencer';
  let tree: CompactRange;
  try {
    tree = await CompactRange.load(from, hashes);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    return { seq: from, problem: `The stored tree's nodes at ${from} events cannot be read: ${err.message}.` };
  }
  if (!tree.root().equals(tail.signedRoot)) {
    return { seq: from, problem: `The stored tree's nodes at ${from} events do not give the root signed for that size: they were written ${byHand}.` };
  }
  let expected = from;
  try {
    for await (const row of repos.audit.sequenced({ from })) {
      const seq = row.event.seq;
      if (seq >= tail.size) break;
      if (seq < expected) return { seq, problem: `Seq ${seq} appears again: the tree's events were changed ${byHand}.` };
      if (seq > expected) {
        return { seq: expected, problem: `Seq ${expected} has no event row (the next is seq ${seq}), though the stored tree has ${tail.size} events: the tree was changed ${byHand}.` };
      }
      const { seq: _seq, ...unsequenced } = row.event;
      const encoded = repos.audit.writtenByService(row, unsequenced);
      if (encoded === null) {
        return { seq, problem: `Event ${seq} (${row.event.action}) carries no valid seal: it was numbered and written into the tree ${byHand}.` };
      }
      tree.append(leafHash(encoded.bytesAt(seq)));
      expected = seq + 1;
    }
  } catch (err) {
    // A row that cannot even be read as an event.
    if (!(err instanceof IntegrityError)) throw err;
    return { seq: expected, problem: `${sentence(err.message)}.` };
  }
  if (expected < tail.size) {
    return { seq: expected, problem: `Seq ${expected} has no event row, though the stored tree has ${tail.size} events: the tree was changed ${byHand}.` };
  }
  if (!tree.root().equals(tail.root)) {
    return { seq: from, problem: `The stored tree's nodes from seq ${from} are not those of its events: they were written ${byHand}.` };
  }
  return null;
}

/** Why the first pending event the service did not write is refused, if there is one. */
async function firstForgedPending(repos: Repos, batch: number): Promise<string | null> {
  let pending: UnsequencedAuditEvent[];
  try {
    pending = await repos.audit.unsequenced(batch);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    return `${sentence(err.message)}; it will not be sequenced.`;
  }
  for (const row of pending) {
    if (repos.audit.writtenByService(row, row.event) === null) {
      return `The pending event row ${String(row.id)} (${row.event.action}) carries no valid seal: it was written into the database directly, not by Strongroom, and will not be sequenced.`;
    }
  }
  return null;
}


/** One entry per distinct note, at the size it is signed for (or filed under, if it does not open: verifyLog then says so). */
function forLog(checkpoints: SourcedCheckpoint[], verifierKey: string): LogCheckpoint[] {
  const bySize = new Map<string, LogCheckpoint>();
  for (const c of checkpoints) {
    if (bySize.has(c.note)) continue;
    let treeSize = c.claimedSize;
    try {
      treeSize = openCheckpoint(c.note, verifierKey).treeSize;
    } catch {
      // Reported by the history check, which names the source.
    }
    if (treeSize !== undefined) bySize.set(c.note, { treeSize, note: c.note });
  }
  return [...bySize.values()];
}


export function subtreesOf(repos: Repos): SubtreeHashes {
  return {
    hash: async (level, index) => {
      const hash = await repos.audit.node(level, index);
      // Missing or malformed is what tampering leaves behind, not an outage: the checks say so.
      if (!hash || hash.length !== HASH_SIZE) throw new IntegrityError(`audit tree node ${level}/${index} is ${hash ? 'malformed' : 'missing'}`);
      return hash;
    },
  };
}

/** Verification asks for the same left-edge nodes once per checkpoint; fetch each once. */
export function memoised(store: SubtreeHashes): SubtreeHashes {
  const seen = new Map<string, Promise<Buffer>>();
  return {
    hash: (level, index) => {
      const key = `${level}/${index}`;
      let hash = seen.get(key);
      if (!hash) {
        hash = Promise.resolve(store.hash(level, index));
        seen.set(key, hash);
      }
      return hash;
    },
  };
}
