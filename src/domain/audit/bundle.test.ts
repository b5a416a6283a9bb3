// The offline bundle: a genuine one verifies after a JSON round trip; any edit to an event,
// proof or checkpoint fails; a saved checkpoint from a rewritten history fails.

import { describe, expect, it } from 'vitest';
import { makeEvent, makeLog, ORIGIN } from '../../../test/fixtures/audit/audit-log.js';
import { BUNDLE_FORMAT, buildBundle, checkBundle, type AuditBundle } from './bundle.js';
import { MemorySubtreeHashes } from './merkle.js';
import { generateSignerKey, verifierKeyFromSigner } from './signed-note.js';

const ORG = 'org-a';
const log = makeLog(20);
const pick = [1, 2, 10, 19]; // all concern org-a

async function genuineBundle(overrides: { size?: number; consistencyFromSizes?: number[] } = {}): Promise<AuditBundle> {
  const size = overrides.size ?? 20;
  const bundle = await buildBundle({
    organisationId: ORG,
    checkpoint: log.checkpoint(size),
    verifierKey: log.verifierKey,
    events: pick.filter((s) => s < size).map((s) => log.events[s]!),
    subtrees: new MemorySubtreeHashes(log.leafHashes.slice(0, size)),
    earlierCheckpoints: [log.checkpoint(8), log.checkpoint(13)],
    consistencyFromSizes: overrides.consistencyFromSizes ?? [5],
  });
  // Whatever is checked is what an auditor gets: plain JSON.
  return JSON.parse(JSON.stringify(bundle)) as AuditBundle;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('checkBundle', () => {
  it('accepts a genuine bundle', async () => {
    const bundle = await genuineBundle();
    expect(bundle.format).toBe(BUNDLE_FORMAT);
    expect(bundle.origin).toBe(ORIGIN);
    expect(bundle.events.map((e) => e.leafIndex)).toEqual(pick);
    expect(bundle.consistency.map((c) => c.fromSize)).toEqual([5, 8, 13]);
    const result = checkBundle(bundle, log.verifierKey);
    expect(result).toMatchObject({ ok: true, events: 4, treeSize: 20, checkpointsChecked: 3 });
  });

  it('fails on any one-character edit to an event, proof, leaf index or checkpoint', async () => {
    // Only proofs the bundle itself uses: a proof kept for an auditor's own checkpoint is checked with `since`.
    const bundle = await genuineBundle({ consistencyFromSizes: [] });
    const survivors: string[] = [];
    let tried = 0;
    for (const { path, apply } of mutations(bundle)) {
      const copy = clone(bundle);
      apply(copy);
      tried++;
      const result = checkBundle(copy, log.verifierKey);
      if (result.ok) {
        survivors.push(path);
        continue;
      }
      // An edit inside an event's entry is blamed on that event.
      const m = /^events\.(\d+)\./.exec(path);
      if (m && !/\.event\.seq(-1)?$/.test(path)) expect(result.seq, path).toBe(bundle.events[Number(m[1])]!.event.seq);
    }
    expect(tried).toBeGreaterThan(1000);
    expect(survivors).toEqual([]);
  });

  it('fails when events are reordered, repeated or relabelled', async () => {
    const bundle = await genuineBundle();
    const swapped = clone(bundle);
    [swapped.events[1], swapped.events[2]] = [swapped.events[2]!, swapped.events[1]!];
    expect(checkBundle(swapped, log.verifierKey)).toMatchObject({ ok: false, seq: 2 });

    const repeated = clone(bundle);
    repeated.events.splice(1, 0, clone(bundle.events[1]!));
    expect(checkBundle(repeated, log.verifierKey)).toMatchObject({ ok: false, seq: 2 });

    const otherOrg = clone(bundle);
    otherOrg.organisationId = 'org-b';
    expect(checkBundle(otherOrg, log.verifierKey)).toMatchObject({ ok: false, seq: 1 });

    const extraField = clone(bundle) as unknown as { events: Array<Record<string, unknown>> };
    extraField.events[0]!.note = 'unsigned commentary';
    expect(checkBundle(extraField, log.verifierKey)).toMatchObject({ ok: false, seq: 1 });

    const extraTop = { ...clone(bundle), note: 'all events verified by Strongroom' };
    expect(checkBundle(extraTop, log.verifierKey)).toMatchObject({ ok: false, problem: expect.stringMatching(/unknown field/) });

    const extraEventField = clone(bundle) as unknown as { events: Array<{ event: Record<string, unknown> }> };
    extraEventField.events[3]!.event.documentTitle = 'Payroll 2025.xlsx';
    expect(checkBundle(extraEventField, log.verifierKey)).toMatchObject({ ok: false, seq: 19 });
  });

  it('fails when an event is moved to another index with a proof for that index', async () => {
    // A valid proof for leaf 10, attached to event 2 relabelled as seq 10.
    const bundle = await genuineBundle();
    const moved = clone(bundle);
    moved.events[1]!.event.seq = 10;
    moved.events[1]!.leafIndex = 10;
    moved.events[1]!.inclusionProof = bundle.events[2]!.inclusionProof;
    moved.events.splice(2, 1);
    expect(checkBundle(moved, log.verifierKey)).toMatchObject({ ok: false, seq: 10 });
  });

  it('fails with the wrong key, and on a bundle signed by an impostor with the same key name', async () => {
    const bundle = await genuineBundle();
    expect(checkBundle(bundle, verifierKeyFromSigner(generateSignerKey('strongroom-test')))).toMatchObject({ ok: false });
    const impostor = makeLog(20, { signerKey: generateSignerKey('strongroom-test') });
    const forged = await buildBundle({
      organisationId: ORG,
      checkpoint: impostor.checkpoint(20),
      verifierKey: impostor.verifierKey,
      events: [impostor.events[1]!],
      subtrees: impostor.store,
    });
    expect(checkBundle(forged, impostor.verifierKey).ok).toBe(true);
    expect(checkBundle(forged, log.verifierKey)).toMatchObject({ ok: false, problem: expect.stringMatching(/checkpoint does not verify/) });
  });

  it('rejects structural garbage without throwing', () => {
    for (const junk of [null, [], 'bundle', {}, { format: BUNDLE_FORMAT }, { format: 'strongroom-audit-bundle/2' }]) {
      expect(checkBundle(junk, log.verifierKey).ok).toBe(false);
    }
  });

  it('throws for a malformed verifier key: that is the caller’s mistake, not the bundle’s', async () => {
    const bundle = await genuineBundle();
    expect(() => checkBundle(bundle, 'not a key')).toThrow(/verifier key/);
  });
});

describe('checkBundle with a saved checkpoint (since)', () => {
  // The same log with event 3 rewritten, signed with the same key: what a compromised server could show.
  const rewritten = makeLog(20, {
    signerKey: log.signerKey,
    events: log.events.map((e) => (e.seq === 3 ? makeEvent(3, { reason: 'nothing to see here' }) : e)),
  });

  it('accepts a genuine earlier checkpoint, using the bundle’s consistency proof', async () => {
    const bundle = await genuineBundle({ consistencyFromSizes: [6] });
    expect(checkBundle(bundle, log.verifierKey, { since: log.checkpoint(6) })).toMatchObject({ ok: true, checkpointsChecked: 4 });
    expect(checkBundle(bundle, log.verifierKey, { since: log.checkpoint(8) }).ok).toBe(true);
    expect(checkBundle(bundle, log.verifierKey, { since: log.checkpoint(20) }).ok).toBe(true);
    expect(checkBundle(bundle, log.verifierKey, { since: log.checkpoint(0) }).ok).toBe(true);
  });

  it('accepts a proof passed separately', async () => {
    const bundle = await genuineBundle({ consistencyFromSizes: [6] });
    const proof = bundle.consistency.find((c) => c.fromSize === 6)!.proof;
    const without = clone(bundle);
    without.consistency = without.consistency.filter((c) => c.fromSize !== 6);
    expect(checkBundle(without, log.verifierKey, { since: log.checkpoint(6) })).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/no consistency proof from size 6/),
    });
    expect(checkBundle(without, log.verifierKey, { since: log.checkpoint(6), sinceProof: proof }).ok).toBe(true);
    expect(checkBundle(without, log.verifierKey, { since: log.checkpoint(6), sinceProof: proof.slice(1) }).ok).toBe(false);
  });

  it('fails for a checkpoint from a rewritten history', async () => {
    const bundle = await genuineBundle({ consistencyFromSizes: [6] });
    const result = checkBundle(bundle, log.verifierKey, { since: rewritten.checkpoint(6) });
    expect(result).toMatchObject({ ok: false, problem: expect.stringMatching(/rewritten/) });
    // Equal sizes are compared root to root.
    expect(checkBundle(bundle, log.verifierKey, { since: rewritten.checkpoint(20) })).toMatchObject({ ok: false });
    // And the rewritten log cannot produce a bundle that passes against the auditor's genuine checkpoint.
    const rewrittenBundle = await buildBundle({
      organisationId: ORG,
      checkpoint: rewritten.checkpoint(20),
      verifierKey: log.verifierKey,
      events: [rewritten.events[1]!],
      subtrees: rewritten.store,
      consistencyFromSizes: [6],
    });
    expect(checkBundle(rewrittenBundle, log.verifierKey).ok).toBe(true);
    expect(checkBundle(rewrittenBundle, log.verifierKey, { since: log.checkpoint(6) }).ok).toBe(false);
    // The saved checkpoint vouches only for what it covers: size 3 ends before the rewritten event 3.
    const proofFrom3 = (await buildBundle({
      organisationId: ORG, checkpoint: rewritten.checkpoint(20), verifierKey: log.verifierKey,
      events: [], subtrees: rewritten.store, consistencyFromSizes: [3],
    })).consistency[0]!.proof;
    expect(checkBundle(rewrittenBundle, log.verifierKey, { since: log.checkpoint(3), sinceProof: proofFrom3 }).ok).toBe(true);
  });

  it('fails when the auditor relies on a consistency proof that was altered', async () => {
    const bundle = await genuineBundle({ consistencyFromSizes: [6] });
    const entry = bundle.consistency.find((c) => c.fromSize === 6)!;
    for (let i = 0; i < entry.proof.length; i++) {
      const altered = clone(bundle);
      const p = altered.consistency.find((c) => c.fromSize === 6)!.proof;
      p[i] = (p[i]![0] === '0' ? '1' : '0') + p[i]!.slice(1);
      expect(checkBundle(altered, log.verifierKey).ok).toBe(true); // unused without `since`…
      expect(checkBundle(altered, log.verifierKey, { since: log.checkpoint(6) }).ok).toBe(false); // …caught with it
    }
  });

  it('fails when the saved checkpoint is newer than the bundle (rollback)', async () => {
    const bundle = await genuineBundle({ size: 15, consistencyFromSizes: [] });
    expect(checkBundle(bundle, log.verifierKey, { since: log.checkpoint(18) })).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/rolled back/),
    });
  });

  it('fails for a saved checkpoint from another key or log', async () => {
    const bundle = await genuineBundle({ consistencyFromSizes: [6] });
    const other = makeLog(20);
    expect(checkBundle(bundle, log.verifierKey, { since: other.checkpoint(6) }).ok).toBe(false);
  });
});

describe('buildBundle', () => {
  it('refuses to export an event that does not match its stored leaf hash', async () => {
    await expect(
      buildBundle({
        organisationId: ORG,
        checkpoint: log.checkpoint(20),
        verifierKey: log.verifierKey,
        events: [makeEvent(4, { reason: 'edited in the database' })],
        subtrees: log.store,
      }),
    ).rejects.toThrow(/stored leaf hash/);
  });

  it('refuses events beyond the checkpoint or about another organisation', async () => {
    const base = { organisationId: ORG, checkpoint: log.checkpoint(10), verifierKey: log.verifierKey, subtrees: log.store };
    await expect(buildBundle({ ...base, events: [log.events[11]!] })).rejects.toThrow(/not yet covered/);
    await expect(buildBundle({ ...base, events: [log.events[3]!] })).rejects.toThrow(/does not concern/);
  });
});

/** Every one-character (or ±1) edit to the signed parts of a bundle. */
function* mutations(bundle: AuditBundle): Generator<{ path: string; apply: (b: AuditBundle) => void }> {
  function* walk(value: unknown, path: string[]): Generator<{ path: string; apply: (b: AuditBundle) => void }> {
    const at = (b: AuditBundle) => path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], b) as Record<string, unknown>;
    const last = path[path.length - 1]!;
    if (typeof value === 'string') {
      for (let i = 0; i < value.length; i++) {
        const changed = value.slice(0, i) + String.fromCharCode(value.charCodeAt(i) ^ 1) + value.slice(i + 1);
        yield { path: `${path.join('.')}[${i}]`, apply: (b) => void (at(b)[last] = changed) };
      }
      yield { path: `${path.join('.')}+`, apply: (b) => void (at(b)[last] = `${value} `) };
    } else if (typeof value === 'number') {
      yield { path: path.join('.'), apply: (b) => void (at(b)[last] = value + 1) };
      if (value > 0) yield { path: `${path.join('.')}-1`, apply: (b) => void (at(b)[last] = value - 1) };
    } else if (value === null) {
      yield { path: path.join('.'), apply: (b) => void (at(b)[last] = 'x') };
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) yield* walk(v, [...path, String(i)]);
      // Dropping a whole event or earlier checkpoint is not tampering a bundle can show (see bundle.ts).
      if (value.length > 0 && (last === 'inclusionProof' || last === 'proof')) {
        yield { path: `${path.join('.')}.pop`, apply: (b) => void (at(b)[last] as unknown[]).pop() };
      }
    } else if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        yield* walk(v, [...path, k]);
        // Renaming a key inside targetIds must also count.
        if (path[path.length - 1] === 'targetIds') {
          yield {
            path: `${path.join('.')}.${k}(renamed)`,
            apply: (b) => {
              const o = (path.reduce<unknown>((x, p) => (x as Record<string, unknown>)[p], b) as Record<string, unknown>);
              o[`${k}_`] = o[k];
              delete o[k];
            },
          };
        }
      }
    }
  }
  for (const key of ['checkpoint', 'events', 'checkpoints', 'consistency'] as const) {
    yield* walk(bundle[key], [key]);
  }
}
