// The signer's and verifier's history check: a tree that only grew passes; a rewritten, rolled
// back or forged history fails and names the checkpoint it contradicts.

import { describe, expect, it } from 'vitest';
import { makeEvent, makeLog, ORIGIN, type TestLog } from '../../../test/fixtures/audit/audit-log.js';
import { IntegrityError } from '../errors.js';
import { checkTreeExtends, type SourcedCheckpoint, type TreeUnderCheck } from './checkpoint-history.js';
import { EMPTY_ROOT } from './merkle.js';
import { signCheckpoint } from './signed-note.js';

const honest = makeLog(40);
const treeOf = (log: TestLog, size = log.events.length): TreeUnderCheck => {
  const prefix = makeLog(size, { signerKey: log.signerKey, events: log.events.slice(0, size) });
  return { size, root: prefix.store.root(), hashes: prefix.store };
};
const at = (log: TestLog, size: number, source = `offsite checkpoint ${size}`): SourcedCheckpoint => ({ source, note: log.checkpoint(size), claimedSize: size });

describe('checkTreeExtends', () => {
  it('passes a tree that grew from every checkpoint, including an equal one and the empty tree', async () => {
    const checkpoints = [0, 1, 7, 8, 13, 32, 40].map((n) => at(honest, n));
    expect(await checkTreeExtends(checkpoints, treeOf(honest), honest.verifierKey, ORIGIN)).toEqual({ ok: true, checkpoints: 7, signedSize: 40, signedRoot: treeOf(honest).root });
    expect(await checkTreeExtends([], treeOf(honest), honest.verifierKey, ORIGIN)).toEqual({ ok: true, checkpoints: 0, signedSize: 0, signedRoot: EMPTY_ROOT });
    // The signed prefix is the largest checkpoint's size, whatever order they come in.
    expect(await checkTreeExtends([at(honest, 13), at(honest, 7)], treeOf(honest), honest.verifierKey, ORIGIN)).toEqual({ ok: true, checkpoints: 2, signedSize: 13, signedRoot: treeOf(honest, 13).root });
  });

  it('refuses a history with one event deleted and the rest renumbered, naming the checkpoint and the last good size', async () => {
    const rewritten = makeLog(45, {
      signerKey: honest.signerKey,
      events: [...honest.events.slice(0, 20), ...honest.events.slice(21), ...Array.from({ length: 6 }, (_, i) => makeEvent(40 + i))].map((e, seq) => ({ ...e, seq })),
    });
    const result = await checkTreeExtends([at(honest, 16), at(honest, 24, 'offsite checkpoint 000000000024.note')], treeOf(rewritten), honest.verifierKey, ORIGIN);
    expect(result).toMatchObject({ ok: false, source: 'offsite checkpoint 000000000024.note', firstBadSeq: 16 });
    expect(result.ok === false && result.problem).toMatch(/not an extension of offsite checkpoint 000000000024\.note, signed for 24 events/);
  });

  it('refuses a tree smaller than a checkpoint (rolled back or truncated)', async () => {
    const result = await checkTreeExtends([at(honest, 8), at(honest, 30, 'the signer')], treeOf(honest, 25), honest.verifierKey, ORIGIN);
    expect(result).toMatchObject({ ok: false, source: 'the signer', firstBadSeq: 25 });
    expect(result.ok === false && result.problem).toMatch(/signed for 30 events, but the stored tree has only 25/);
  });

  it('refuses a same-size tree with another root', async () => {
    const altered = makeLog(40, { signerKey: honest.signerKey, events: honest.events.map((e) => (e.seq === 39 ? makeEvent(39, { action: 'document.delete' }) : e)) });
    expect(await checkTreeExtends([at(honest, 40)], treeOf(altered), honest.verifierKey, ORIGIN)).toMatchObject({ ok: false, firstBadSeq: 0 });
  });

  it('refuses checkpoints signed by another key, for another log, or filed under another size', async () => {
    const stranger = makeLog(40);
    expect(await checkTreeExtends([at(honest, 8), at(stranger, 16, 'forged')], treeOf(honest), honest.verifierKey, ORIGIN)).toMatchObject({ ok: false, source: 'forged' });
    const otherOrigin = signCheckpoint({ origin: 'elsewhere/audit', treeSize: 4, rootHash: treeOf(honest, 4).root }, honest.signerKey);
    expect(await checkTreeExtends([{ source: 'x', note: otherOrigin }], treeOf(honest), honest.verifierKey, ORIGIN)).toMatchObject({ ok: false, source: 'x' });
    const misfiled = await checkTreeExtends([{ source: 'y', note: honest.checkpoint(12), claimedSize: 20 }], treeOf(honest), honest.verifierKey, ORIGIN);
    expect(misfiled.ok === false && misfiled.problem).toMatch(/signed for 12 events, not the 20 its name claims/);
    expect(await checkTreeExtends([{ source: 'z', note: 'not a note' }], treeOf(honest), honest.verifierKey, ORIGIN)).toMatchObject({ ok: false, source: 'z' });
  });

  it('treats a missing stored node as no proof, but lets any other store failure through', async () => {
    const tree = treeOf(honest);
    const missing: TreeUnderCheck = { ...tree, hashes: { hash: () => { throw new IntegrityError('node missing'); } } };
    expect(await checkTreeExtends([at(honest, 8)], missing, honest.verifierKey, ORIGIN)).toMatchObject({ ok: false, firstBadSeq: 0 });
    const down: TreeUnderCheck = { ...tree, hashes: { hash: () => { throw new Error('connection refused'); } } };
    await expect(checkTreeExtends([at(honest, 8)], down, honest.verifierKey, ORIGIN)).rejects.toThrow('connection refused');
  });
});
