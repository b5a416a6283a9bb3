// Records-management fixtures: a series filed on a collection, retention events and legal holds,
// written through the repositories so the disposal tests do not depend on the file-plan and holds pages.
import { randomUUID } from 'node:crypto';
import { addYears, ukDate } from '../../src/domain/records/retention.js';
import type { DisposalAction, RetentionTrigger } from '../../src/domain/records/series.js';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { Vault } from '../../src/main.js';
import { createOrganisation, upload, type TestOrganisation, type TestUser } from './vault.js';

export interface SeriesSpec {
  code: string;
  trigger: RetentionTrigger;
  retainYears: number;
  action?: DisposalAction;
  serviceArea?: string;
}

/** Adds a series to the organisation (if absent) and files `collectionId` under it. */
export async function fileCollectionUnder(vault: Vault, organisationId: string, collectionId: string, spec: SeriesSpec): Promise<void> {
  const now = new Date().toISOString();
  if (!(await vault.store.repos.retention.series(organisationId, spec.code))) {
    await vault.store.repos.retention.insertSeries({
      organisationId, code: spec.code, title: `Series ${spec.code}`, serviceArea: spec.serviceArea ?? 'hr', trigger: spec.trigger, retainYears: spec.retainYears,
      action: spec.action ?? 'destroy', authority: 'Test schedule', revision: 1, createdAt: now, updatedAt: now,
    }, { reason: 'test', changedBy: null });
  }
  await vault.store.repos.retention.setCollectionSeries(collectionId, spec.code);
}

/** The HR-03 rule of the shared schedule: unsuccessful applications, 1 year after the process completes. */
export const HR_03: SeriesSpec = { code: 'HR-03', trigger: 'process_complete', retainYears: 1, action: 'destroy', serviceArea: 'hr' };

/** Records `kind` for one document on `date`. */
export async function recordEvent(vault: Vault, organisationId: string, documentId: string, kind: RetentionTrigger, date: string): Promise<void> {
  await vault.store.repos.retention.insertEvent({
    id: randomUUID(), organisationId, kind, date, documentId, collectionId: null, recordedBy: null, recordedAt: new Date().toISOString(), clearedAt: null, clearedBy: null,
  });
}

/** The UK date `years` years before today. */
export const yearsAgo = (years: number): string => addYears(ukDate(new Date()), -years);

/**
 * Uploads each named file into a folder filed under HR-03 (as `uploader`) and records its process complete two
 * years ago, so each is due for disposal now; returns their ids in order.
 */
export async function uploadDueRecords(t: { vault: Vault; app: FastifyInstance }, organisationId: string, collectionId: string, uploader: TestUser, names: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) {
    const up = await upload(t.app, uploader, collectionId, name, `application form ${name}\n`);
    expect(up.statusCode, up.body).toBe(201);
    ids.push(up.json().id as string);
    await recordEvent(t.vault, organisationId, ids.at(-1)!, 'process_complete', yearsAgo(2));
  }
  return ids;
}

/** Places a hold over one document (or a collection); returns its id. */
export async function placeHold(vault: Vault, organisationId: string, over: { documentId?: string; collectionId?: string }, name = 'Tribunal claim'): Promise<string> {
  const id = randomUUID();
  const now = new Date().toISOString();
  await vault.store.repos.holds.insert({ id, organisationId, name, reason: 'Litigation', reference: null, createdBy: null, createdAt: now, releasedAt: null, releasedBy: null, releaseReason: null });
  await vault.store.repos.holds.addItem({ id: randomUUID(), holdId: id, organisationId, documentId: over.documentId ?? null, collectionId: over.collectionId ?? null, addedBy: null, addedAt: now });
  return id;
}

export async function releaseHold(vault: Vault, holdId: string): Promise<void> {
  await vault.store.repos.holds.release(holdId, { at: new Date().toISOString(), by: null, reason: 'Claim settled' });
}

/**
 * A new organisation whose `team` folder is filed under `spec`, with two records managers of that team (`first`,
 * `second`) and a member of it: for the rules that want a second records manager to approve.
 */
export async function councilOfTwoRecordsManagers(vault: Vault, team: string, spec: SeriesSpec): Promise<{ org: TestOrganisation; first: TestUser; second: TestUser; member: TestUser }> {
  const org = await createOrganisation(vault);
  await fileCollectionUnder(vault, org.id, org.collections[team]!, spec);
  const first = await org.user({ roles: ['records_manager'], teams: [team] });
  const second = await org.user({ roles: ['records_manager'], teams: [team] });
  const member = await org.user({ teams: [team] });
  return { org, first, second, member };
}
