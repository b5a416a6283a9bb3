// The offline audit export: an organisation's events, each with an inclusion proof against a
// signed checkpoint, plus consistency proofs from earlier checkpoints. `checkBundle` needs
// nothing but the bundle and the log's public key, so an auditor can run it away from us.
//
// What a bundle proves: every event in it is in the signed log, unaltered, at its seq, and
// concerns the organisation (as actor or target); the log has only grown since any earlier
// checkpoint it (or the auditor) holds. What it cannot prove alone: that no event about the
// organisation was left out of the export.

import { DomainError, IntegrityError, invalid } from '../errors.js';
import { canonicalEventBytes, parseAuditEvent, type AuditEvent } from './event.js';
import { consistencyProof, inclusionProof, leafHash, verifyConsistency, verifyInclusion, type SubtreeHashes } from './merkle.js';
import { assertVerifierKey, openCheckpoint, type Checkpoint } from './signed-note.js';

export const BUNDLE_FORMAT = 'strongroom-audit-bundle/1';

export interface BundleEvent {
  event: AuditEvent;
  /** Always equal to event.seq; kept explicit so the proof can be read without knowing that rule. */
  leafIndex: number;
  /** Lower-case hex hashes, leaf end first (RFC 9162 order). */
  inclusionProof: string[];
}

export interface BundleConsistency {
  /** Size of the earlier tree; the proof runs from it to the bundle's checkpoint. */
  fromSize: number;
  proof: string[];
}

/** Plain JSON: JSON.stringify it to export, JSON.parse it to check. */
export interface AuditBundle {
  format: typeof BUNDLE_FORMAT;
  origin: string;
  organisationId: string;
  /** The signed checkpoint every proof in the bundle is against. */
  checkpoint: string;
  /** Ordered by seq. */
  events: BundleEvent[];
  /** Earlier signed checkpoints, each with a consistency proof in `consistency`. */
  checkpoints: string[];
  consistency: BundleConsistency[];
}

export type BundleCheck =
  | { ok: true; events: number; treeSize: number; rootHash: string; checkpointsChecked: number }
  | { ok: false; problem: string; seq?: number };

export interface CheckBundleOptions {
  /** An older signed checkpoint the auditor kept from a previous export. */
  since?: string;
  /** A consistency proof (hex) from `since` to the bundle's checkpoint; by default the bundle's own. */
  sinceProof?: string[];
}

const HEX_HASH = /^[0-9a-f]{64}$/;
const BUNDLE_FIELDS: readonly string[] = ['format', 'origin', 'organisationId', 'checkpoint', 'events', 'checkpoints', 'consistency'];

const fail = (problem: string, seq?: number): BundleCheck => (seq === undefined ? { ok: false, problem } : { ok: false, problem, seq });

function decodeProof(proof: unknown): Buffer[] | undefined {
  if (!Array.isArray(proof) || !proof.every((p) => typeof p === 'string' && HEX_HASH.test(p))) return undefined;
  return proof.map((p: string) => Buffer.from(p, 'hex'));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function tryOpen(note: unknown, verifierKey: string, origin: string): Checkpoint | string {
  if (typeof note !== 'string') return 'not a string';
  try {
    return openCheckpoint(note, verifierKey, origin);
  } catch (err) {
    if (err instanceof DomainError) return err.message;
    throw err;
  }
}

/**
 * Checks a bundle (untrusted, e.g. straight from JSON.parse) against the log's verifier key.
 * Stops at the first problem; an event problem names that event's seq.
 */
export function checkBundle(bundle: unknown, verifierKey: string, options: CheckBundleOptions = {}): BundleCheck {
  if (!isRecord(bundle)) return fail('The bundle is not a JSON object.');
  if (bundle.format !== BUNDLE_FORMAT) return fail(`Unknown bundle format ${JSON.stringify(bundle.format)}.`);
  // Anything outside the known fields would be unsigned text an auditor might still believe.
  const unknown = Object.keys(bundle).filter((k) => !BUNDLE_FIELDS.includes(k));
  if (unknown.length > 0) return fail(`The bundle has unknown field(s): ${unknown.join(', ')}.`);
  const { origin, organisationId, checkpoint, events, checkpoints, consistency } = bundle;
  if (typeof origin !== 'string' || origin === '') return fail('The bundle has no origin.');
  if (typeof organisationId !== 'string') return fail('The bundle has no organisationId.');
  if (!Array.isArray(events)) return fail('The bundle has no events list.');
  if (!Array.isArray(checkpoints)) return fail('The bundle has no checkpoints list.');
  if (!Array.isArray(consistency)) return fail('The bundle has no consistency list.');
  // A malformed key is the caller's mistake, not a property of the bundle: let it throw.
  assertVerifierKey(verifierKey);

  const head = tryOpen(checkpoint, verifierKey, origin);
  if (typeof head === 'string') return fail(`The bundle's checkpoint does not verify: ${head}`);

  // Consistency proofs by earlier size; duplicates would let a bad proof hide behind a good one.
  const proofsBySize = new Map<number, Buffer[]>();
  for (const entry of consistency) {
    const proof = isRecord(entry) ? decodeProof(entry.proof) : undefined;
    const wellFormed = isRecord(entry) && Object.keys(entry).sort().join(',') === 'fromSize,proof' && Number.isSafeInteger(entry.fromSize);
    if (!wellFormed || !proof) return fail('A consistency entry is malformed.');
    if (proofsBySize.has(entry.fromSize as number)) return fail(`Two consistency proofs from size ${String(entry.fromSize)}.`);
    proofsBySize.set(entry.fromSize as number, proof);
  }

  let previousSeq = -1;
  for (const [position, item] of events.entries()) {
    const seqOf = (v: unknown): number | undefined =>
      isRecord(v) && isRecord(v.event) && Number.isSafeInteger(v.event.seq) ? (v.event.seq as number) : undefined;
    const seq = seqOf(item);
    const where = seq === undefined ? `Event #${position} in the bundle` : `Event ${seq}`;
    if (!isRecord(item)) return fail(`${where} is malformed.`, seq);
    const itemKeys = Object.keys(item).sort().join(',');
    if (itemKeys !== 'event,inclusionProof,leafIndex') return fail(`${where} has unexpected fields.`, seq);
    let event: AuditEvent;
    let bytes: Buffer;
    try {
      event = parseAuditEvent(item.event);
      bytes = canonicalEventBytes(event);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return fail(`${where} is malformed: ${err.message}`, seq);
    }
    if (event.actorOrganisationId !== organisationId && event.targetOrganisationId !== organisationId) {
      // Binds the unsigned organisationId label to the content, and catches an export that leaks another organisation's events.
      return fail(`${where} does not concern organisation ${organisationId} (neither as actor nor as target).`, event.seq);
    }
    if (event.seq <= previousSeq) return fail(`${where} is out of order or repeated.`, event.seq);
    previousSeq = event.seq;
    if (item.leafIndex !== event.seq) return fail(`${where} claims leaf index ${String(item.leafIndex)}.`, event.seq);
    if (event.seq >= head.treeSize) return fail(`${where} is beyond the checkpoint's tree size ${head.treeSize}.`, event.seq);
    const proof = decodeProof(item.inclusionProof);
    if (!proof) return fail(`${where} has a malformed inclusion proof.`, event.seq);
    if (!verifyInclusion(leafHash(bytes), event.seq, head.treeSize, proof, head.rootHash)) {
      return fail(`${where} is not in the signed log as given: its inclusion proof does not match the checkpoint.`, event.seq);
    }
  }

  for (const [i, note] of checkpoints.entries()) {
    const earlier = tryOpen(note, verifierKey, origin);
    if (typeof earlier === 'string') return fail(`Earlier checkpoint #${i} does not verify: ${earlier}`);
    const problem = checkGrowth(earlier, head, proofsBySize.get(earlier.treeSize));
    if (problem) return fail(`Earlier checkpoint #${i}: ${problem}`);
  }

  if (options.since !== undefined) {
    const since = tryOpen(options.since, verifierKey, origin);
    if (typeof since === 'string') return fail(`Your saved checkpoint does not verify: ${since}`);
    const given = options.sinceProof === undefined ? undefined : decodeProof(options.sinceProof);
    if (options.sinceProof !== undefined && !given) return fail('The consistency proof given for your saved checkpoint is malformed.');
    const problem = checkGrowth(since, head, given ?? proofsBySize.get(since.treeSize));
    if (problem) return fail(`Your saved checkpoint: ${problem}`);
  }

  return {
    ok: true,
    events: events.length,
    treeSize: head.treeSize,
    rootHash: head.rootHash.toString('hex'),
    checkpointsChecked: 1 + checkpoints.length + (options.since === undefined ? 0 : 1),
  };
}

/** Explains why `earlier` is not a prefix of `head`, or returns undefined if it is. */
function checkGrowth(earlier: Checkpoint, head: Checkpoint, proof: Buffer[] | undefined): string | undefined {
  if (earlier.treeSize > head.treeSize) {
    return `it is for a larger tree (${earlier.treeSize}) than the bundle's (${head.treeSize}); the log may have been rolled back.`;
  }
  if (earlier.treeSize === head.treeSize || earlier.treeSize === 0) {
    return verifyConsistency(earlier.treeSize, head.treeSize, earlier.rootHash, head.rootHash, [])
      ? undefined
      : `its root differs from the bundle's tree at size ${earlier.treeSize}: the history was rewritten.`;
  }
  if (!proof) return `the bundle has no consistency proof from size ${earlier.treeSize}.`;
  return verifyConsistency(earlier.treeSize, head.treeSize, earlier.rootHash, head.rootHash, proof)
    ? undefined
    : `the consistency proof from size ${earlier.treeSize} fails: the history was rewritten or the proof altered.`;
}

export interface BuildBundleInput {
  organisationId: string;
  /** The signed checkpoint to prove against; its tree must be held by `subtrees`. */
  checkpoint: string;
  verifierKey: string;
  /** The organisation's events, any order; all must be inside the checkpoint's tree. */
  events: readonly AuditEvent[];
  subtrees: SubtreeHashes;
  /** Earlier signed checkpoints to include, each with a consistency proof. */
  earlierCheckpoints?: readonly string[];
  /** Further sizes to include consistency proofs from, e.g. the size of an auditor's saved checkpoint. */
  consistencyFromSizes?: readonly number[];
}

/**
 * Builds a bundle. Each event is checked against the stored leaf hash first, so the server
 * refuses to export something that would only fail at the auditor's desk.
 */
export async function buildBundle(input: BuildBundleInput): Promise<AuditBundle> {
  const head = openCheckpoint(input.checkpoint, input.verifierKey);
  const events = [...input.events].sort((a, b) => a.seq - b.seq);
  const bundleEvents: BundleEvent[] = [];
  for (const event of events) {
    if (event.actorOrganisationId !== input.organisationId && event.targetOrganisationId !== input.organisationId) {
      throw invalid(`Event ${event.seq} does not concern organisation ${input.organisationId}.`);
    }
    if (event.seq >= head.treeSize) throw invalid(`Event ${event.seq} is not yet covered by the checkpoint (size ${head.treeSize}).`);
    const leaf = leafHash(canonicalEventBytes(event));
    const stored = await input.subtrees.hash(0, event.seq);
    if (!leaf.equals(stored)) throw new IntegrityError(`Event ${event.seq} does not match its stored leaf hash.`);
    const proof = await inclusionProof(event.seq, head.treeSize, input.subtrees);
    bundleEvents.push({ event, leafIndex: event.seq, inclusionProof: proof.map((p) => p.toString('hex')) });
  }
  const earlier = (input.earlierCheckpoints ?? []).map((note) => ({ note, cp: openCheckpoint(note, input.verifierKey, head.origin) }));
  const sizes = new Set<number>([...earlier.map((e) => e.cp.treeSize), ...(input.consistencyFromSizes ?? [])]);
  const consistency: BundleConsistency[] = [];
  for (const size of [...sizes].sort((a, b) => a - b)) {
    if (size > head.treeSize) throw invalid(`Cannot prove consistency from size ${size} to the smaller size ${head.treeSize}.`);
    const proof = await consistencyProof(size, head.treeSize, input.subtrees);
    consistency.push({ fromSize: size, proof: proof.map((p) => p.toString('hex')) });
  }
  return {
    format: BUNDLE_FORMAT,
    origin: head.origin,
    organisationId: input.organisationId,
    checkpoint: input.checkpoint,
    events: bundleEvents,
    checkpoints: earlier.map((e) => e.note),
    consistency,
  };
}
