import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccessLevel, Actor, Arrangement, ArrangementStatus, Classification, DocumentStatus, Role } from '../types.js';
import type { DocumentResource } from './policy.js';
import { decide } from './policy.js';
import { readableClassifications, readableScope, scopeCovers, scopeNarrowed } from './readable-scope.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const ORGS = ['org-a', 'org-b', 'org-c', 'org-d'];
const AREAS = ['hr', 'payroll', 'finance'];
const ROLES: Role[] = ['member', 'records_manager', 'org_admin', 'security_admin', 'auditor', 'dpo'];
const LEVELS: Classification[] = ['OFFICIAL', 'OFFICIAL-SENSITIVE'];

const arrangementArb = (i: number): fc.Arbitrary<Arrangement> =>
  fc
    .record({
      host: fc.constantFrom(...ORGS),
      partners: fc.subarray(ORGS, { minLength: 1 }),
      serviceArea: fc.constantFrom(...AREAS),
      ceiling: fc.constantFrom(...LEVELS),
      accessLevel: fc.constantFrom<AccessLevel>('read', 'contribute', 'manage'),
      status: fc.oneof({ weight: 4, arbitrary: fc.constant<ArrangementStatus>('active') }, { weight: 1, arbitrary: fc.constantFrom<ArrangementStatus>('suspended', 'ended', 'draft') }),
      allAccepted: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      ended: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map((r): Arrangement => {
      const partners = r.partners.filter((p) => p !== r.host);
      if (partners.length === 0) partners.push(ORGS[(ORGS.indexOf(r.host) + 1) % ORGS.length]!);
      return {
        id: `arr-${i}`, hostOrganisationId: r.host, partnerOrganisationIds: partners, serviceArea: r.serviceArea, purpose: 'p', lawfulBasis: 'public task',
        agreementReference: null, accessLevel: r.accessLevel, ceiling: r.ceiling, startsAt: new Date(NOW.getTime() - DAY).toISOString(),
        endsAt: r.ended ? new Date(NOW.getTime() - 1).toISOString() : null, annualSavingPounds: 0, status: r.status,
        acceptedBy: r.allAccepted ? [...partners] : partners.slice(1), revision: 1, termsRevision: 1, createdAt: NOW.toISOString(), updatedAt: NOW.toISOString(),
      };
    });

const actorArb: fc.Arbitrary<Actor> = fc.oneof(
  { weight: 20, arbitrary: fc.record({ org: fc.constantFrom(...ORGS), roles: fc.subarray(ROLES), teams: fc.subarray(AREAS), clearance: fc.constantFrom(...LEVELS) })
    .map((a): Actor => ({ kind: 'user', userId: 'u-1', organisationId: a.org, roles: a.roles, teams: a.teams, clearance: a.clearance, channel: 'api', clientAddress: null, requestId: null })) },
  { weight: 1, arbitrary: fc.constant<Actor>({ kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL', channel: 'job', clientAddress: null, requestId: null }) },
  { weight: 1, arbitrary: fc.constant<Actor>({ kind: 'user', userId: 'u-2', organisationId: null, roles: ['member'], teams: ['hr'], clearance: 'OFFICIAL', channel: 'api', clientAddress: null, requestId: null }) },
);

const documentArb = (arrangementCount: number): fc.Arbitrary<DocumentResource> =>
  fc.record({
    organisationId: fc.constantFrom(...ORGS),
    serviceArea: fc.constantFrom(...AREAS),
    classification: fc.constantFrom(...LEVELS),
    status: fc.oneof({ weight: 4, arbitrary: fc.constant<DocumentStatus>('available') }, { weight: 1, arbitrary: fc.constantFrom<DocumentStatus>('pending_scan', 'quarantined', 'disposed') }),
    deleted: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    arrangementId: fc.option(fc.nat({ max: Math.max(arrangementCount, 1) }).map((n) => `arr-${n}`), { freq: 2 }),
  }).map((d): DocumentResource => ({ kind: 'document', id: 'doc', ...d }));

const worldArb = fc.integer({ min: 0, max: 4 }).chain((n) =>
  fc.record({
    arrangements: fc.tuple(...Array.from({ length: n }, (_, i) => arrangementArb(i))),
    actor: actorArb,
    documents: fc.array(documentArb(n), { minLength: 1, maxLength: 12 }),
  }),
);

const searchable = (d: DocumentResource): boolean => d.status === 'available' && !d.deleted;

describe('readableScope', () => {
  it('covers a searchable document exactly when decide() allows document.read', () => {
    let allowed = 0;
    let viaArrangement = 0;
    fc.assert(
      fc.property(worldArb, ({ arrangements, actor, documents }) => {
        const scope = readableScope(actor, arrangements, NOW);
        for (const doc of documents) {
          const decision = decide(actor, 'document.read', doc, { now: NOW, arrangements, holds: new Map() });
          const want = decision.allow && searchable(doc);
          expect(scopeCovers(scope, doc) && searchable(doc)).toBe(want);
          if (want) allowed++;
          if (want && decision.via !== null) viaArrangement++;
        }
      }),
      { numRuns: 3000 },
    );
    // The comparison means little unless both kinds of grant came up often.
    expect(allowed).toBeGreaterThan(500);
    expect(viaArrangement).toBeGreaterThan(50);
  });

  it('gives the system actor everything and an actor without an organisation nothing', () => {
    expect(readableScope({ kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL', channel: 'job', clientAddress: null, requestId: null }, [], NOW)).toEqual({ grants: [], everything: true });
    expect(readableScope({ kind: 'user', userId: 'u', organisationId: null, roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL', channel: 'api', clientAddress: null, requestId: null }, [], NOW)).toEqual({ grants: [] });
  });
});

describe('readableClassifications', () => {
  it('leaves out no document decide() lets the actor read, whatever its status, and narrows where the clearance or a ceiling does', () => {
    let allowed = 0;
    let narrowed = 0;
    fc.assert(
      fc.property(worldArb, ({ arrangements, actor, documents }) => {
        for (const doc of documents) {
          const readable = readableClassifications(actor, arrangements, doc.organisationId, NOW);
          const decision = decide(actor, 'document.read', doc, { now: NOW, arrangements, holds: new Map() });
          if (decision.allow) {
            allowed++;
            expect(readable === 'any' || readable.includes(doc.classification)).toBe(true);
          }
          if (readable !== 'any' && !readable.includes(doc.classification)) narrowed++;
          // Never more than the clearance, for a person.
          if (actor.kind === 'user' && actor.clearance === 'OFFICIAL') expect(readable === 'any' ? LEVELS : readable).not.toContain('OFFICIAL-SENSITIVE');
        }
      }),
      { numRuns: 3000 },
    );
    // Both must come up often for the comparison to mean anything.
    expect(allowed).toBeGreaterThan(500);
    expect(narrowed).toBeGreaterThan(500);
  });

  it('bounds a person by their clearance at home, and by an arrangement\'s ceiling too at a partner; not the system', () => {
    const person = (clearance: Classification): Actor => ({ kind: 'user', userId: 'u', organisationId: 'org-a', roles: ['member'], teams: ['payroll'], clearance, channel: 'api', clientAddress: null, requestId: null });
    const payroll: Arrangement = {
      id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'], serviceArea: 'payroll', purpose: 'p', lawfulBasis: 'public task',
      agreementReference: null, accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: new Date(NOW.getTime() - DAY).toISOString(), endsAt: null,
      annualSavingPounds: 0, status: 'active', acceptedBy: ['org-b'], revision: 1, termsRevision: 1, createdAt: NOW.toISOString(), updatedAt: NOW.toISOString(),
    };
    expect(readableClassifications(person('OFFICIAL-SENSITIVE'), [payroll], 'org-a', NOW)).toBe('any');
    expect(readableClassifications(person('OFFICIAL'), [payroll], 'org-a', NOW)).toEqual(['OFFICIAL']);
    expect(readableClassifications(person('OFFICIAL-SENSITIVE'), [payroll], 'org-b', NOW)).toEqual(['OFFICIAL']);
    expect(readableClassifications(person('OFFICIAL-SENSITIVE'), [{ ...payroll, status: 'suspended' }], 'org-b', NOW)).toEqual([]);
    expect(readableClassifications(person('OFFICIAL-SENSITIVE'), [payroll], 'org-c', NOW)).toEqual([]);
    expect(readableClassifications({ kind: 'system', userId: null, organisationId: null, roles: [], teams: [], clearance: 'OFFICIAL', channel: 'job', clientAddress: null, requestId: null }, [], 'org-c', NOW)).toBe('any');
  });
});

describe('scopeNarrowed', () => {
  it('is false only when the later scope covers every document the earlier one did (so a search need not be asked again)', () => {
    let narrowed = 0;
    let kept = 0;
    fc.assert(
      fc.property(worldArb, fc.array(fc.constantFrom<ArrangementStatus>('active', 'suspended', 'ended')), ({ arrangements, actor, documents }, statuses) => {
        // The same arrangements a moment later, some suspended or ended meanwhile (and some resumed).
        const later = arrangements.map((a, i) => ({ ...a, status: statuses[i] ?? a.status }));
        const before = readableScope(actor, arrangements, NOW);
        const after = readableScope(actor, later, NOW);
        const lost = documents.some((d) => scopeCovers(before, d) && !scopeCovers(after, d));
        if (scopeNarrowed(before, after)) narrowed++;
        else {
          kept++;
          expect(lost).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
    expect(narrowed).toBeGreaterThan(200);
    expect(kept).toBeGreaterThan(200);
  });

  it('is true when an arrangement the scope read through is suspended, and false for the same scope read twice', () => {
    const staff: Actor = { kind: 'user', userId: 'u', organisationId: 'org-a', roles: ['member'], teams: ['payroll'], clearance: 'OFFICIAL', channel: 'api', clientAddress: null, requestId: null };
    const payroll: Arrangement = {
      id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'], serviceArea: 'payroll', purpose: 'p', lawfulBasis: 'public task',
      agreementReference: null, accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: new Date(NOW.getTime() - DAY).toISOString(), endsAt: null,
      annualSavingPounds: 0, status: 'active', acceptedBy: ['org-b'], revision: 1, termsRevision: 1, createdAt: NOW.toISOString(), updatedAt: NOW.toISOString(),
    };
    const live = readableScope(staff, [payroll], NOW);
    expect(scopeNarrowed(live, readableScope(staff, [payroll], NOW))).toBe(false);
    expect(scopeNarrowed(live, readableScope(staff, [{ ...payroll, status: 'suspended' }], NOW))).toBe(true);
    // Ended by its end date passing, with no event: the same.
    expect(scopeNarrowed(live, readableScope(staff, [{ ...payroll, endsAt: NOW.toISOString() }], NOW))).toBe(true);
    expect(scopeNarrowed(readableScope(staff, [{ ...payroll, status: 'suspended' }], NOW), live)).toBe(false);
  });
});
