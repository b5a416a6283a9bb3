// Whole-log verification: a clean log passes; gaps, repeats, edits, truncation and bad
// checkpoints fail and name the earliest sequence number that may be bad.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeEvent, makeLog, ORIGIN } from '../../../test/fixtures/audit/audit-log.js';
import { eventLeafHash, type AuditEvent } from './event.js';
import { leafHash, rootFromLeafHashes } from './merkle.js';
import { generateSignerKey, signCheckpoint, verifierKeyFromSigner } from './signed-note.js';
import { verifyLog, type LogCheckpoint } from './verify-log.js';

const log = makeLog(24);
const SIZES = [0, 3, 7, 10, 16, 20];
const checkpoints: LogCheckpoint[] = SIZES.map((treeSize) => ({ treeSize, note: log.checkpoint(treeSize) }));
const stored = (hashes: Buffer[] = log.leafHashes) => async (seq: number) => hashes[seq];

async function* stream(events: AuditEvent[]): AsyncGenerator<AuditEvent> {
  for (const e of events) yield e;
}

const withEvent = (seq: number, change: Partial<AuditEvent>) => log.events.map((e) => (e.seq === seq ? makeEvent(seq, change) : e));

describe('verifyLog', () => {
  it('accepts a clean log, counting checkpoints and the unsigned tail', async () => {
    const result = await verifyLog(stream(log.events), checkpoints, log.verifierKey, stored());
    expect(result).toEqual({ ok: true, treeSize: 24, checkpoints: 6, unsignedEvents: 4 });
    // Order of the checkpoint list does not matter.
    expect((await verifyLog(log.events, [...checkpoints].reverse(), log.verifierKey)).ok).toBe(true);
  });

  it('accepts an empty log with no checkpoints, or only the empty one', async () => {
    expect(await verifyLog([], [], log.verifierKey)).toEqual({ ok: true, treeSize: 0, checkpoints: 0, unsignedEvents: 0 });
    expect((await verifyLog([], [checkpoints[0]!], log.verifierKey)).ok).toBe(true);
  });

  it('names the first missing seq of a gap', async () => {
    const events = log.events.filter((e) => e.seq !== 5 && e.seq !== 6);
    expect(await verifyLog(stream(events), checkpoints, log.verifierKey)).toMatchObject({
      ok: false,
      firstBadSeq: 5,
      problem: expect.stringMatching(/Seqs 5 to 6 are missing/),
    });
  });

  it('names a repeated seq', async () => {
    const events = [...log.events.slice(0, 6), log.events[5]!, ...log.events.slice(6)];
    expect(await verifyLog(stream(events), checkpoints, log.verifierKey)).toMatchObject({ ok: false, firstBadSeq: 5 });
  });

  it('names the first seq out of place when two events are swapped', async () => {
    const events = [...log.events];
    [events[8], events[9]] = [events[9]!, events[8]!];
    expect(await verifyLog(stream(events), checkpoints, log.verifierKey)).toMatchObject({ ok: false, firstBadSeq: 8 });
  });

  it('names a log that does not start at 0', async () => {
    expect(await verifyLog(stream(log.events.slice(1)), [], log.verifierKey)).toMatchObject({ ok: false, firstBadSeq: 0 });
  });

  it('without stored hashes, blames an edited event on the start of its checkpoint interval', async () => {
    const result = await verifyLog(stream(withEvent(8, { reason: 'edited' })), checkpoints, log.verifierKey);
    expect(result).toMatchObject({ ok: false, firstBadSeq: 7, problem: expect.stringMatching(/seq 7 to 9 do not match the signed checkpoint for size 10/) });
  });

  it('with stored hashes, names the edited event exactly', async () => {
    const result = await verifyLog(stream(withEvent(8, { reason: 'edited' })), checkpoints, log.verifierKey, stored());
    expect(result).toMatchObject({ ok: false, firstBadSeq: 8, problem: expect.stringMatching(/event was altered/) });
  });

  it('tells an edited stored hash apart from an edited event', async () => {
    const hashes = [...log.leafHashes];
    hashes[12] = leafHash(Buffer.from('not the event'));
    const result = await verifyLog(stream(log.events), checkpoints, log.verifierKey, stored(hashes));
    expect(result).toMatchObject({ ok: false, firstBadSeq: 12, problem: expect.stringMatching(/stored leaf hash, not the event/) });
    const missing = async (seq: number) => (seq === 2 ? undefined : log.leafHashes[seq]);
    expect(await verifyLog(stream(log.events), checkpoints, log.verifierKey, missing)).toMatchObject({
      ok: false,
      firstBadSeq: 2,
      problem: expect.stringMatching(/no stored leaf hash/),
    });
  });

  it('reports a stored-hash mismatch after the newest checkpoint', async () => {
    const hashes = [...log.leafHashes];
    hashes[22] = leafHash(Buffer.from('x'));
    expect(await verifyLog(stream(log.events), checkpoints, log.verifierKey, stored(hashes))).toMatchObject({
      ok: false,
      firstBadSeq: 22,
      problem: expect.stringMatching(/no checkpoint covers it yet/),
    });
  });

  it('catches an edit even when the attacker also rewrote the stored hashes', async () => {
    const events = withEvent(14, { decision: 'deny' });
    const result = await verifyLog(stream(events), checkpoints, log.verifierKey, stored(events.map(eventLeafHash)));
    expect(result).toMatchObject({ ok: false, firstBadSeq: 10 });
  });

  it('names the first missing seq when the log was truncated below a checkpoint', async () => {
    expect(await verifyLog(stream(log.events.slice(0, 14)), checkpoints, log.verifierKey)).toMatchObject({
      ok: false,
      firstBadSeq: 14,
      problem: expect.stringMatching(/signed for 20 events.*truncated or rolled back/),
    });
    // Exactly on a checkpoint boundary too.
    expect(await verifyLog(stream(log.events.slice(0, 10)), checkpoints, log.verifierKey)).toMatchObject({ ok: false, firstBadSeq: 10 });
    // Truncating only the unsigned tail is not detectable, and the result says how much is unsigned.
    expect(await verifyLog(stream(log.events.slice(0, 21)), checkpoints, log.verifierKey)).toMatchObject({ ok: true, unsignedEvents: 1 });
  });

  it('fails on a checkpoint whose signature does not verify', async () => {
    const tampered = checkpoints.map((c) => (c.treeSize === 10 ? { ...c, note: c.note.replace(/\n10\n/, '\n11\n') } : c));
    expect(await verifyLog(stream(log.events), tampered, log.verifierKey)).toMatchObject({
      ok: false,
      firstBadSeq: 7,
      problem: expect.stringMatching(/checkpoint for size 10 does not verify/),
    });
    const foreign = makeLog(24); // same events, another key
    const mixed = [...checkpoints, { treeSize: 24, note: foreign.checkpoint(24) }];
    expect(await verifyLog(stream(log.events), mixed, log.verifierKey)).toMatchObject({ ok: false, firstBadSeq: 20 });
  });

  it('fails on a checkpoint stored under the wrong size, or for another origin', async () => {
    const misfiled = [...checkpoints, { treeSize: 22, note: log.checkpoint(21) }];
    expect(await verifyLog(stream(log.events), misfiled, log.verifierKey)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/signed for size 21/),
    });
    const otherOrigin = signCheckpoint({ origin: 'elsewhere', treeSize: 22, rootHash: rootFromLeafHashes(log.leafHashes.slice(0, 22)) }, log.signerKey);
    expect(await verifyLog(stream(log.events), [...checkpoints, { treeSize: 22, note: otherOrigin }], log.verifierKey)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/for log "elsewhere"/),
    });
    expect((await verifyLog(stream(log.events), checkpoints, log.verifierKey, undefined, { origin: ORIGIN })).ok).toBe(true);
    expect((await verifyLog(stream(log.events), checkpoints, log.verifierKey, undefined, { origin: 'x' })).ok).toBe(false);
  });

  it('fails on a validly signed checkpoint from a rewritten history (key stolen and misused)', async () => {
    const rewritten = makeLog(24, { signerKey: log.signerKey, events: withEvent(4, { reason: 'rewritten' }) });
    const conflicting = [...checkpoints, { treeSize: 16, note: rewritten.checkpoint(16) }];
    expect(await verifyLog(stream(log.events), conflicting, log.verifierKey)).toMatchObject({
      ok: false,
      firstBadSeq: 10,
      problem: expect.stringMatching(/different roots for size 16/),
    });
    // Whichever order they come in.
    expect(await verifyLog(stream(log.events), [conflicting[6]!, ...checkpoints], log.verifierKey)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/different roots for size 16/),
    });
  });

  it('rejects a malformed event, naming its seq', async () => {
    const events = log.events.map((e) => (e.seq === 3 ? ({ ...e, time: 'not a time' } as AuditEvent) : e));
    expect(await verifyLog(stream(events), checkpoints, log.verifierKey)).toMatchObject({ ok: false, firstBadSeq: 3 });
  });

  it('throws for a malformed key or checkpoint list: a caller mistake, not a log problem', async () => {
    await expect(verifyLog([], [], 'nope')).rejects.toThrow(/verifier key/);
    await expect(verifyLog([], [{ treeSize: -1, note: '' }], log.verifierKey)).rejects.toThrow(/not a size/);
  });

  it('verifies a long stream against checkpoints at arbitrary sizes', async () => {
    const signerKey = generateSignerKey('long');
    const n = 10_000;
    // Checkpoint roots computed the independent, recursive way.
    const leaves: Buffer[] = [];
    for (let i = 0; i < n; i++) leaves.push(eventLeafHash(makeEvent(i)));
    const cps = [4096, 6789, n].map((treeSize) => ({
      treeSize,
      note: signCheckpoint({ origin: ORIGIN, treeSize, rootHash: rootFromLeafHashes(leaves.slice(0, treeSize)) }, signerKey),
    }));
    let consumed = 0;
    async function* generated(edited?: number): AsyncGenerator<AuditEvent> {
      for (let i = 0; i < n; i++) {
        consumed++;
        yield i === edited ? makeEvent(i, { channel: 'cli' }) : makeEvent(i);
      }
    }
    const vkey = verifierKeyFromSigner(signerKey);
    expect(await verifyLog(generated(), cps, vkey)).toEqual({ ok: true, treeSize: n, checkpoints: 3, unsignedEvents: 0 });
    // A problem stops the walk at the checkpoint that exposes it, without reading the rest.
    consumed = 0;
    expect(await verifyLog(generated(5000), cps, vkey)).toMatchObject({ ok: false, firstBadSeq: 4096 });
    expect(consumed).toBe(6789);
  });

  it('property: a single edited event is found, at its interval start or exactly with stored hashes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }), fc.uniqueArray(fc.integer({ min: 0, max: n }), { maxLength: 6 })),
        ),
        async ([n, edited, sizes]) => {
          const events = Array.from({ length: n }, (_, i) => (i === edited ? makeEvent(i, { reason: 'edited' }) : makeEvent(i)));
          const genuine = Array.from({ length: n }, (_, i) => eventLeafHash(makeEvent(i)));
          const cps = sizes.map((treeSize) => ({
            treeSize,
            note: signCheckpoint({ origin: ORIGIN, treeSize, rootHash: rootFromLeafHashes(genuine.slice(0, treeSize)) }, log.signerKey),
          }));
          const sorted = [...sizes].sort((a, b) => a - b);
          const covering = sorted.find((s) => s > edited);
          const intervalStart = sorted.filter((s) => s <= edited).pop() ?? 0;

          const plain = await verifyLog(stream(events), cps, log.verifierKey);
          if (covering === undefined) expect(plain.ok).toBe(true); // not yet signed for: undetectable without stored hashes
          else expect(plain).toMatchObject({ ok: false, firstBadSeq: intervalStart });

          const exact = await verifyLog(stream(events), cps, log.verifierKey, stored(genuine));
          expect(exact).toMatchObject({ ok: false, firstBadSeq: edited });
        },
      ),
      { numRuns: 150 },
    );
  });
});
