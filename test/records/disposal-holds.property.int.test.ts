// Model-based property: whatever the order of holds, releases, sweeps, decisions, approvals and
// executions over a few documents and collections, no document under an active hold when a batch is
// executed is ever destroyed. Service level, on SQLite (the rule is decide()'s, not the dialect's).
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Vault } from '../../src/main.js';
import { actorFor } from '../../src/services/identity.service.js';
import type { Actor } from '../../src/domain/types.js';
import { DomainError } from '../../src/domain/errors.js';
import { HR_03, fileCollectionUnder, placeHold, recordEvent, releaseHold, yearsAgo } from '../support/records.js';
import { createOrganisation, openTestVault, type TestVault } from '../support/vault.js';

let t: TestVault;
beforeAll(async () => {
  // No uploads here (documents are written through the repositories), so no scanner is needed.
  t = await openTestVault({ dialect: 'sqlite', clamdSocket: '/nonexistent/clamd.sock' });
});
afterAll(async () => {
  await t?.close();
});

type Command =
  | { kind: 'hold'; target: number }
  | { kind: 'release'; pick: number }
  | { kind: 'sweep' }
  | { kind: 'decide'; pick: number; extend: boolean }
  | { kind: 'approve'; pick: number }
  | { kind: 'execute'; pick: number };

const DOCUMENTS = 4;
/** Hold targets: each document, then each of the two folders. */
const TARGETS = DOCUMENTS + 2;

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('hold' as const), target: fc.nat(TARGETS - 1) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat(5) }),
  fc.record({ kind: fc.constant('sweep' as const) }),
  fc.record({ kind: fc.constant('decide' as const), pick: fc.nat(3), extend: fc.boolean() }),
  fc.record({ kind: fc.constant('approve' as const), pick: fc.nat(3) }),
  fc.record({ kind: fc.constant('execute' as const), pick: fc.nat(3) }),
);

/** A world: an organisation with two HR-03 folders, four documents due for disposal, and its records manager. */
async function world(vault: Vault) {
  const org = await createOrganisation(vault, { areas: { hr: 'OFFICIAL-SENSITIVE' } });
  const { systemActor } = await import('../../src/services/identity.service.js');
  const folders = [];
  for (const name of ['Round 1', 'Round 2']) {
    folders.push((await vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: org.collections.hr!, name, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' })).id);
  }
  await fileCollectionUnder(vault, org.id, org.collections.hr!, HR_03);
  const documents: string[] = [];
  for (let i = 0; i < DOCUMENTS; i++) {
    const collectionId = folders[i % 2]!;
    const id = randomUUID();
    const versionId = randomUUID();
    const now = new Date().toISOString();
    await vault.store.transaction(async (r) => {
      await r.documents.insertDocument({
        id, organisationId: org.id, collectionId, name: `applicant-${i}.txt`, classification: 'OFFICIAL-SENSITIVE', serviceArea: 'hr', status: 'available',
        currentVersion: 1, currentVersionId: versionId, arrangementId: null, copiedFromDocumentId: null, copiedViaArrangementId: null,
        createdAt: now, updatedAt: now, deletedAt: null,
      });
      await r.documents.insertVersion({
        id: versionId, documentId: id, organisationId: org.id, number: 1, size: 10, sha256: randomBytes(32).toString('hex'), mediaType: 'text/plain',
        blobId: randomBytes(16).toString('hex'), wrappedKey: new Uint8Array(randomBytes(40)), keyId: randomUUID(), scanStatus: 'clean', scanDetail: null,
        scanEngine: 'test', scannedAt: now, authorId: null, createdAt: now,
      });
    });
    await recordEvent(vault, org.id, id, 'process_complete', yearsAgo(2));
    documents.push(id);
  }
  const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
  const actor: Actor = actorFor((await vault.identity.userById(manager.id))!, { channel: 'api', clientAddress: null, requestId: null });
  return { org, folders, documents, actor };
}

/** Refusals the model allows (a decision on a batch approved meanwhile, an approval with items pending): nothing changes. */
async function tolerated(work: Promise<unknown>): Promise<void> {
  await work.catch((error: unknown) => {
    if (error instanceof DomainError && (error.code === 'INVALID' || error.code === 'CONFLICT')) return;
    throw error;
  });
}

it('never destroys a document under an active hold at execution time', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 4, maxLength: 14 }), async (commands) => {
      const { vault } = t;
      const w = await world(vault);
      const holds: string[] = [];
      const batches: string[] = [];
      /** Documents under an active hold when each was executed: must all survive that execution. */
      const heldAtExecution = new Set<string>();
      for (const c of commands) {
        switch (c.kind) {
          case 'hold': {
            const over = c.target < DOCUMENTS ? { documentId: w.documents[c.target]! } : { collectionId: w.folders[c.target - DOCUMENTS]! };
            holds.push(await placeHold(vault, w.org.id, over));
            break;
          }
          case 'release': {
            if (holds.length === 0) break;
            const [hold] = holds.splice(c.pick % holds.length, 1);
            await releaseHold(vault, hold!);
            break;
          }
          case 'sweep': {
            const view = await vault.disposal.sweep(w.actor, w.org.id);
            if (view) batches.push(view.batch.id);
            break;
          }
          case 'decide': {
            if (batches.length === 0) break;
            const batchId = batches[c.pick % batches.length]!;
            const view = await vault.disposal.get(w.actor, batchId);
            const items = view.items.filter((i) => i.excludedBy.length === 0 && i.decision === 'pending')
              .map((i) => (c.extend ? { documentId: i.documentId, decision: 'extend' as const, extendTo: '2099-01-01', reason: 'Appeal pending' } : { documentId: i.documentId, decision: 'destroy' as const }));
            if (items.length > 0) await tolerated(vault.disposal.decide(w.actor, batchId, items));
            break;
          }
          case 'approve': {
            if (batches.length === 0) break;
            await tolerated(vault.disposal.approve(w.actor, batches[c.pick % batches.length]!));
            break;
          }
          case 'execute': {
            if (batches.length === 0) break;
            const batchId = batches[c.pick % batches.length]!;
            // Held now and not destroyed already (a hold may be placed over what an earlier execution destroyed).
            const alive = [];
            for (const id of w.documents) if ((await vault.store.repos.documents.byId(id))!.status !== 'disposed') alive.push(id);
            const held = await vault.store.repos.holds.activeForDocuments(alive);
            await vault.disposal.execute(batchId);
            for (const id of held.keys()) {
              heldAtExecution.add(id);
              const doc = (await vault.store.repos.documents.byId(id))!;
              expect(doc.status, `held document ${id} was disposed`).not.toBe('disposed');
              for (const v of await vault.store.repos.documents.versions(id)) expect(v.wrappedKey.length).toBeGreaterThan(0);
            }
            break;
          }
        }
      }
      // Every destruction left a stub, and every disposed document was destroyed by an approved batch's execution.
      for (const id of w.documents) {
        const doc = (await vault.store.repos.documents.byId(id))!;
        const stub = await vault.store.repos.disposal.stub(id);
        expect(doc.status === 'disposed').toBe(stub !== undefined);
      }
    }),
    { numRuns: 30 },
  );
}, 300_000);
