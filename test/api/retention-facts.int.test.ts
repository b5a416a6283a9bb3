// RetentionService.retentionFacts, which the disposal sweep reads for every document of a council:
// right for thousands of documents at once (across its batches), with the precedence of events
// (a document's own over its collection's, the nearest collection's over those above) and the
// active holds over each document, a collection hold reaching documents below it.
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Document, Version } from '../../src/domain/types.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, settableClock } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('retention facts on %s', (dialect) => {
  const clock = settableClock('2026-06-01T12:00:00Z');
  const t = useTestVault(dialect, clamd, { clock });

  /** Documents straight into the store (no content): what retention reads is their place and creation date. */
  async function documents(organisationId: string, collectionId: string, count: number, createdAt: string): Promise<string[]> {
    const ids: string[] = [];
    await t.vault.store.transaction(async (repos) => {
      for (let i = 0; i < count; i += 1) {
        const id = randomUUID();
        const version: Version = {
          id: randomUUID(), documentId: id, organisationId, number: 1, size: 1, sha256: randomBytes(32).toString('hex'), mediaType: 'text/plain',
          blobId: randomBytes(16).toString('hex'), wrappedKey: new Uint8Array(randomBytes(40)), keyId: randomUUID(), scanStatus: 'clean', scanDetail: null,
          scanEngine: 'test', scannedAt: createdAt, authorId: null, createdAt,
        };
        const doc: Omit<Document, 'size' | 'sha256' | 'mediaType'> = {
          id, organisationId, collectionId, name: `r-${i}.txt`, classification: 'OFFICIAL', serviceArea: 'hr', status: 'available', currentVersion: 1,
          currentVersionId: version.id, arrangementId: null, copiedFromDocumentId: null, copiedViaArrangementId: null, createdAt, updatedAt: createdAt, deletedAt: null,
        };
        await repos.documents.insertDocument(doc);
        await repos.documents.insertVersion(version);
        ids.push(id);
      }
    });
    return ids;
  }

  it('computes facts for 1,200 documents at once, with event precedence and holds', { timeout: 120_000 }, async () => {
    const org = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const system = systemActor();
    const top = org.collections.hr!;
    const folder = (await t.vault.collectionCreation.create(system, { organisationId: org.id, parentId: top, name: 'Leavers', serviceArea: 'hr', classification: 'OFFICIAL' })).id;
    await t.vault.retention.setCollectionSeries(system, top, 'HR-01');
    const inTop = await documents(org.id, top, 600, '2020-01-15T10:00:00.000Z');
    const inFolder = await documents(org.id, folder, 600, '2020-01-15T10:00:00.000Z');

    await t.vault.retentionEvents.recordEvent(system, { kind: 'employment_end', date: '2025-12-31', collectionId: top });
    clock.set('2026-06-01T12:01:00Z');
    await t.vault.retentionEvents.recordEvent(system, { kind: 'employment_end', date: '2026-01-31', collectionId: folder });
    clock.set('2026-06-01T12:02:00Z');
    // Earlier than the folder's event it overrides: confirmed.
    await t.vault.retentionEvents.recordEvent(system, { kind: 'employment_end', date: '2024-02-29', documentIds: [inFolder[0]!] }, { confirmShorter: true });
    // One document of the top folder under a date-triggered series of its own.
    await t.vault.retention.setDocumentSeries(system, inTop[1]!, 'FIN-02', { confirmShorter: true });

    const holdId = randomUUID();
    await t.vault.store.repos.holds.insert({
      id: holdId, organisationId: org.id, name: 'Tribunal 2026/17', reason: 'Employment tribunal', reference: 'ET/2026/17', createdBy: null,
      createdAt: '2026-06-01T12:00:00.000Z', releasedAt: null, releasedBy: null, releaseReason: null,
    });
    await t.vault.store.repos.holds.addItem({ id: randomUUID(), holdId, organisationId: org.id, documentId: null, collectionId: folder, addedBy: null, addedAt: '2026-06-01T12:00:00.000Z' });

    const facts = await t.vault.retention.retentionFacts([...inTop, ...inFolder, randomUUID()]);
    expect(facts.size).toBe(1200);
    expect(facts.get(inTop[0]!)).toEqual({ state: 'scheduled', seriesCode: 'HR-01', trigger: 'employment_end', triggerDate: '2025-12-31', dueAt: '2032-12-31', action: 'review', extended: false, holds: [] });
    expect(facts.get(inTop[599]!)).toMatchObject({ triggerDate: '2025-12-31', holds: [] });
    // Financial year end: created 15 January 2020, so the year ends 31 March 2020; plus six years.
    expect(facts.get(inTop[1]!)).toMatchObject({ seriesCode: 'FIN-02', triggerDate: '2020-01-15', dueAt: '2026-03-31', holds: [] });
    // The nearest collection's event wins over the one above; the document's own over both; 29 February plus 7 years is 28 February.
    expect(facts.get(inFolder[1]!)).toMatchObject({ triggerDate: '2026-01-31', dueAt: '2033-01-31', holds: [{ id: holdId, name: 'Tribunal 2026/17' }] });
    expect(facts.get(inFolder[599]!)).toMatchObject({ triggerDate: '2026-01-31', holds: [{ id: holdId, name: 'Tribunal 2026/17' }] });
    expect(facts.get(inFolder[0]!)).toMatchObject({ triggerDate: '2024-02-29', dueAt: '2031-02-28' });
    expect([...facts.values()].filter((f) => f.holds.length > 0)).toHaveLength(600);
  });
});
