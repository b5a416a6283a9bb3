// Tests for the single policy decision point: decide() is compared with a naive reference model on
// generated worlds (organisations, users, documents, collections, arrangements), then the key
// safety properties are checked on their own; legal holds, deny by default and read-only credentials across
// every family. Each family's own rules are tested beside its module (organisation-, arrangement-, person-,
// subject-access- and directory-policy.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccessLevel, Actor, Arrangement, ArrangementStatus, Classification, DocumentStatus, ScanStatus } from '../types.js';
import type { Action, ContentAction } from './actions.js';
import { ACTION_EFFECTS, ARRANGEMENT_ACTIONS, CONTENT_ACTIONS, DESTRUCTION_ACTIONS, ORGANISATION_ACTIONS, PERSON_ACTIONS, READS_BESIDE_CHANGES, SUBJECT_ACCESS_ACTIONS, SYSTEM_ACTIONS } from './actions.js';
import type { DecisionContext, DocumentResource, Resource } from './policy.js';
import { decide, reachableOrganisations } from './policy.js';
import type { ContentResource } from './reference-model.test-support.js';
import type { HoldRef } from '../records/holds.js';
import { ALL_ROLES, DAY, NO_HOLDS, NOW, ROLE_SETS, SERVICE_AREAS, SYSTEM, arrangementOf, userOf } from './policy-examples.test-support.js';
import {
  LEVEL_NEEDED,
  clearedFor,
  coveringArrangements,
  inForce,
  levelCovers,
  modelDecide,
  modelReachable,
} from './reference-model.test-support.js';

const ORGANISATION_IDS = ['org-a', 'org-b', 'org-c', 'org-d'];
const CLASSIFICATION_VALUES: Classification[] = ['OFFICIAL', 'OFFICIAL-SENSITIVE'];
const CONTENT_ACTION_NAMES = Object.keys(LEVEL_NEEDED) as ContentAction[];
const MAIN_RUNS = 5000;
const SMITH: HoldRef = { id: 'hold-1', name: 'Smith v Council' };
const SAFETY_RUNS = 2000;

interface World {
  actor: Actor;
  action: ContentAction;
  resource: ContentResource;
  context: DecisionContext;
}

// ---------------------------------------------------------------------------------------------
// Builders for examples
// ---------------------------------------------------------------------------------------------

function documentOf(fields: Partial<Extract<ContentResource, { kind: 'document' }>> & { organisationId: string }): ContentResource {
  return {
    kind: 'document',
    id: 'doc-1',
    serviceArea: 'payroll',
    classification: 'OFFICIAL',
    status: 'available',
    deleted: false,
    arrangementId: null,
    ...fields,
  };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

// A world is generated from plain, index-based ingredients (which shrink well) and then resolved
// by buildWorld() against the 3–4 organisations and 0–4 arrangements actually generated.
// Half the worlds are "focused": the actor is put in the resource's organisation, or both are placed
// where one arrangement could matter; otherwise many grants would be too rare to test much.

const serviceAreaArb = fc.constantFrom(...SERVICE_AREAS);
const classificationArb = fc.constantFrom(...CLASSIFICATION_VALUES);
const contentActionArb = fc.constantFrom(...CONTENT_ACTION_NAMES);
const organisationIndexArb = fc.nat({ max: ORGANISATION_IDS.length - 1 });

/** Instants on both sides of `now`, including the exact boundaries. */
const instantAroundNowArb = fc
  .constantFrom(-30 * DAY, -1, 0, 1, 30 * DAY)
  .map((offset) => new Date(NOW.getTime() + offset).toISOString());

const arrangementStatusArb: fc.Arbitrary<ArrangementStatus> = fc.oneof(
  { weight: 5, arbitrary: fc.constant('active' as const) },
  { weight: 1, arbitrary: fc.constantFrom('draft' as const, 'suspended' as const, 'ended' as const) },
);

/** Partners and acceptances are offsets from the host round the list of organisations (1 = the next one). */
const arrangementIngredientsArb = fc.record({
  host: organisationIndexArb,
  partnerOffsets: fc.subarray([1, 2, 3], { minLength: 1 }),
  acceptedOffsets: fc.oneof({ weight: 3, arbitrary: fc.constant('all' as const) }, { weight: 1, arbitrary: fc.subarray([1, 2, 3]) }),
  serviceArea: serviceAreaArb,
  accessLevel: fc.constantFrom<AccessLevel>('read', 'contribute', 'manage'),
  ceiling: classificationArb,
  startsAt: fc.oneof({ weight: 3, arbitrary: fc.constant(new Date(NOW.getTime() - DAY).toISOString()) }, { weight: 2, arbitrary: instantAroundNowArb }),
  endsAt: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: instantAroundNowArb }),
  status: arrangementStatusArb,
});

const actorIngredientsArb = fc.record({
  kind: fc.oneof(
    { weight: 30, arbitrary: fc.constant('user' as const) },
    { weight: 1, arbitrary: fc.constantFrom('system' as const, 'user-without-organisation' as const) },
  ),
  organisation: organisationIndexArb,
  roles: fc.subarray(ALL_ROLES),
  teams: fc.subarray(SERVICE_AREAS),
  clearance: classificationArb,
});

const documentStatusArb: fc.Arbitrary<DocumentStatus> = fc.constantFrom('available', 'pending_scan', 'quarantined', 'disposed');
const seldomArb = fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

const resourceIngredientsArb = fc.record({
  kind: fc.constantFrom('document' as const, 'collection' as const),
  organisation: organisationIndexArb,
  serviceArea: serviceAreaArb,
  classification: classificationArb,
  /** null, the joint workspace of the n-th arrangement, or of an arrangement not in the context. */
  workspace: fc.oneof(fc.constant(null), fc.nat({ max: 3 }), fc.constant('elsewhere' as const)),
  status: documentStatusArb,
  deleted: seldomArb,
  /** Under a legal hold (a document directly or through its folders; a collection or one above it). */
  held: seldomArb,
  /** The verdict on the version asked for (downloads); often absent, as for every other action. */
  versionScan: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constantFrom<ScanStatus>('pending', 'clean', 'released', 'infected', 'blocked', 'held') },
  ),
});

/** Puts the actor in the resource's organisation, or both where one arrangement could open it. */
const focusArb = fc.record({
  arrangement: fc.nat({ max: 3 }),
  route: fc.constantFrom('same-organisation' as const, 'host-serves-partner' as const, 'joint-workspace' as const),
  partner: fc.nat({ max: 2 }),
  /** Whose staff use the joint workspace: the host's, a partner's, or (to test the fence) an outsider's. */
  workspaceUser: fc.constantFrom('host' as const, 'partner' as const, 'outsider' as const),
});

const worldIngredientsArb = fc.record({
  organisationCount: fc.integer({ min: 3, max: 4 }),
  arrangements: fc.array(arrangementIngredientsArb, { maxLength: 4 }),
  actor: actorIngredientsArb,
  action: contentActionArb,
  resource: resourceIngredientsArb,
  newClassification: fc.option(classificationArb, { nil: undefined }),
  focus: fc.option(focusArb, { freq: 2, nil: null }),
});

type WorldIngredients = typeof worldIngredientsArb extends fc.Arbitrary<infer T> ? T : never;
const unique = <T>(values: T[]): T[] => [...new Set(values)];

function buildWorld(raw: WorldIngredients): World {
  const organisations = ORGANISATION_IDS.slice(0, raw.organisationCount);
  const organisationAt = (index: number): string => organisations[index % organisations.length]!;

  const arrangements = raw.arrangements.map((terms, i): Arrangement => {
    const host = organisationAt(terms.host);
    const partners = unique(terms.partnerOffsets.map((o) => organisationAt(terms.host + o))).filter((p) => p !== host);
    if (partners.length === 0) partners.push(organisationAt(terms.host + 1));
    const acceptedBy = terms.acceptedOffsets === 'all' ? partners : partners.filter((p) => (terms.acceptedOffsets as number[]).some((o) => organisationAt(terms.host + o) === p));
    const { serviceArea, accessLevel, ceiling, startsAt, endsAt, status } = terms;
    return arrangementOf({ id: `arr-${i + 1}`, hostOrganisationId: host, partnerOrganisationIds: partners, acceptedBy, serviceArea, accessLevel, ceiling, startsAt, endsAt, status });
  });

  const r = raw.resource;
  const workspace = r.workspace === null ? null : r.workspace === 'elsewhere' ? 'arr-elsewhere' : (arrangements[r.workspace % Math.max(arrangements.length, 1)]?.id ?? null);
  const common = { id: 'res-1', organisationId: organisationAt(r.organisation), serviceArea: r.serviceArea, classification: r.classification, arrangementId: workspace };
  const holds: ReadonlyMap<string, readonly HoldRef[]> = r.held ? new Map([['res-1', [SMITH]]]) : NO_HOLDS;
  let resource: ContentResource =
    r.kind === 'collection'
      ? { kind: 'collection', ...common }
      : { kind: 'document', ...common, status: r.status, deleted: r.deleted, ...(r.versionScan === undefined ? {} : { versionScan: r.versionScan }) };

  const a = raw.actor;
  let actor: Actor =
    a.kind === 'system' ? SYSTEM : userOf(a.kind === 'user' ? organisationAt(a.organisation) : null, a.roles, a.teams, a.clearance);

  const focused = raw.focus && arrangements.length > 0 ? arrangements[raw.focus.arrangement % arrangements.length] : undefined;
  if (raw.focus?.route === 'same-organisation' && actor.kind === 'user' && actor.organisationId !== null) {
    actor = { ...actor, organisationId: resource.organisationId };
  } else if (raw.focus && focused && actor.kind === 'user' && actor.organisationId !== null) {
    const partner = focused.partnerOrganisationIds[raw.focus.partner % focused.partnerOrganisationIds.length]!;
    const teams = unique([...actor.teams, focused.serviceArea]);
    if (raw.focus.route === 'host-serves-partner') {
      actor = { ...actor, organisationId: focused.hostOrganisationId, teams };
      resource = { ...resource, organisationId: partner, serviceArea: focused.serviceArea };
    } else {
      const parties = [focused.hostOrganisationId, ...focused.partnerOrganisationIds];
      const outsider = organisations.find((o) => !parties.includes(o)) ?? partner;
      const user = { host: focused.hostOrganisationId, partner, outsider }[raw.focus.workspaceUser];
      actor = { ...actor, organisationId: user, teams };
      resource = { ...resource, organisationId: focused.hostOrganisationId, serviceArea: focused.serviceArea, arrangementId: focused.id };
    }
  }

  const context: DecisionContext = raw.newClassification === undefined ? { now: NOW, arrangements, holds } : { now: NOW, arrangements, holds, newClassification: raw.newClassification };
  return { actor, action: raw.action, resource, context };
}

const worldArb: fc.Arbitrary<World> = worldIngredientsArb.map(buildWorld);

const decideIn = (w: World) => decide(w.actor, w.action, w.resource, w.context);
const isCrossOrganisation = (w: World): boolean => w.actor.kind === 'user' && w.actor.organisationId !== null && w.actor.organisationId !== w.resource.organisationId;
const withArrangements = (w: World, arrangements: Arrangement[]): World => ({ ...w, context: { ...w.context, arrangements } });

// ---------------------------------------------------------------------------------------------
// decide() against the reference model
// ---------------------------------------------------------------------------------------------

describe('content actions: decide() agrees with the reference model', () => {
  it('lists the same content actions and levels as the specification', () => {
    expect(CONTENT_ACTIONS).toEqual(LEVEL_NEEDED);
  });

  it('allows exactly what the model allows, via a covering arrangement or none', () => {
    const seen = { system: 0, security_review: 0, own_organisation: 0, arrangement: 0, denied: 0 };
    fc.assert(
      fc.property(worldArb, (w) => {
        const got = decideIn(w);
        const want = modelDecide(w.actor, w.action, w.resource, w.context);
        seen[want.allow ? want.grantedBy : 'denied'] += 1;
        expect(got.allow).toBe(want.allow);
        expect(got.reason).toMatch(/\S/);
        if (want.allow && want.grantedBy === 'arrangement') expect(want.via).toContain(got.via);
        else expect(got.via).toBeNull();
      }),
      { numRuns: MAIN_RUNS },
    );
    // The comparison means little unless every kind of outcome was generated often.
    // The rarest kind (a security admin reviewing a pending file) comes up about 19 times in 5,000;
    // at least 3 keeps the check meaningful without failing by chance (Poisson: about 1 in a million).
    for (const count of Object.values(seen)) expect(count).toBeGreaterThanOrEqual(3);
  });
});

// ---------------------------------------------------------------------------------------------
// Safety properties, each stated on its own
// ---------------------------------------------------------------------------------------------

describe('content actions: safety properties', () => {
  it('(1) another organisation is reached only through an in-force arrangement that covers the action', () => {
    let crossOrganisationGrants = 0;
    fc.assert(
      fc.property(worldArb, (w) => {
        const got = decideIn(w);
        if (!got.allow || !isCrossOrganisation(w)) return;
        crossOrganisationGrants += 1;
        const used = w.context.arrangements.find((a) => a.id === got.via);
        expect(used, `granted via ${got.via}`).toBeDefined();
        if (!used) return;
        const actorOrg = w.actor.organisationId ?? '';
        expect(inForce(used, NOW)).toBe(true);
        expect(used.serviceArea).toBe(w.resource.serviceArea);
        expect(w.actor.teams).toContain(used.serviceArea);
        expect(clearedFor(used.ceiling, w.resource.classification)).toBe(true);
        expect(levelCovers(used.accessLevel, w.action)).toBe(true);
        const parties = [used.hostOrganisationId, ...used.partnerOrganisationIds];
        const inJointWorkspace = w.resource.arrangementId === used.id && w.resource.organisationId === used.hostOrganisationId && parties.includes(actorOrg);
        const hostServingPartner = actorOrg === used.hostOrganisationId && used.partnerOrganisationIds.includes(w.resource.organisationId);
        expect(inJointWorkspace || hostServingPartner).toBe(true);
      }),
      { numRuns: SAFETY_RUNS },
    );
    expect(crossOrganisationGrants).toBeGreaterThan(SAFETY_RUNS / 100);
  });

  it('(2) an arrangement for one service area never opens another', () => {
    let openedBeforeMoving = 0;
    fc.assert(
      fc.property(worldArb, fc.integer({ min: 1, max: SERVICE_AREAS.length - 1 }), (w, shift) => {
        fc.pre(isCrossOrganisation(w));
        if (decideIn(w).allow) openedBeforeMoving += 1;
        // Move every arrangement to some other service area than the resource's.
        const otherArea = SERVICE_AREAS[(SERVICE_AREAS.indexOf(w.resource.serviceArea) + shift) % SERVICE_AREAS.length]!;
        const moved = withArrangements(w, w.context.arrangements.map((a) => ({ ...a, serviceArea: otherArea })));
        expect(decideIn(moved).allow).toBe(false);
      }),
      { numRuns: SAFETY_RUNS },
    );
    expect(openedBeforeMoving).toBeGreaterThan(SAFETY_RUNS / 100);
  });

  it('(2) example: a payroll arrangement does not open the partner’s hr documents', () => {
    const payroll = arrangementOf({ id: 'arr-payroll', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'], serviceArea: 'payroll' });
    const hostStaff = userOf('org-a', ['member'], ['payroll', 'hr'], 'OFFICIAL-SENSITIVE');
    const context = { now: NOW, arrangements: [payroll], holds: NO_HOLDS };
    expect(decide(hostStaff, 'document.read', documentOf({ organisationId: 'org-b', serviceArea: 'payroll' }), context)).toMatchObject({ allow: true, via: 'arr-payroll' });
    expect(decide(hostStaff, 'document.read', documentOf({ organisationId: 'org-b', serviceArea: 'hr' }), context).allow).toBe(false);
  });

  it('(3) a ceiling of OFFICIAL never reveals OFFICIAL-SENSITIVE', () => {
    let openedUnderHigherCeiling = 0;
    fc.assert(
      fc.property(worldArb, (w) => {
        fc.pre(isCrossOrganisation(w));
        // A cleared actor and a sensitive resource, so only the ceiling can stand in the way.
        const sensitive: World = { ...w, actor: { ...w.actor, clearance: 'OFFICIAL-SENSITIVE' }, resource: { ...w.resource, classification: 'OFFICIAL-SENSITIVE' } };
        const ceilingAt = (ceiling: Classification) => withArrangements(sensitive, sensitive.context.arrangements.map((a) => ({ ...a, ceiling })));
        if (decideIn(ceilingAt('OFFICIAL-SENSITIVE')).allow) openedUnderHigherCeiling += 1;
        expect(decideIn(ceilingAt('OFFICIAL')).allow).toBe(false);
      }),
      { numRuns: SAFETY_RUNS },
    );
    expect(openedUnderHigherCeiling).toBeGreaterThan(SAFETY_RUNS / 100);
  });

  it('(4) partner staff never reach host documents outside a joint workspace', () => {
    let reachedInsideWorkspace = 0;
    fc.assert(
      fc.property(worldArb, fc.constantFrom(null, 'arr-elsewhere'), (w, outside) => {
        fc.pre(isCrossOrganisation(w));
        // Keep only arrangements the actor's organisation does not host: the actor can only be partner staff.
        const asPartner = withArrangements(w, w.context.arrangements.filter((a) => a.hostOrganisationId !== w.actor.organisationId));
        if (decideIn(asPartner).allow) reachedInsideWorkspace += 1;
        expect(decideIn({ ...asPartner, resource: { ...asPartner.resource, arrangementId: outside } }).allow).toBe(false);
      }),
      { numRuns: SAFETY_RUNS },
    );
    expect(reachedInsideWorkspace).toBeGreaterThan(SAFETY_RUNS / 400);
  });

  it('(4) host staff never reach organisations that are not partners', () => {
    let reachedAsPartner = 0;
    fc.assert(
      fc.property(worldArb, (w) => {
        fc.pre(isCrossOrganisation(w));
        const outsideWorkspace: World = { ...w, resource: { ...w.resource, arrangementId: null } };
        if (decideIn(outsideWorkspace).allow) reachedAsPartner += 1;
        // Strike the resource's organisation from every arrangement's partners.
        const struck = (a: Arrangement): Arrangement => ({
          ...a,
          partnerOrganisationIds: a.partnerOrganisationIds.filter((p) => p !== w.resource.organisationId),
          acceptedBy: a.acceptedBy.filter((p) => p !== w.resource.organisationId),
        });
        expect(decideIn(withArrangements(outsideWorkspace, outsideWorkspace.context.arrangements.map(struck))).allow).toBe(false);
      }),
      { numRuns: SAFETY_RUNS },
    );
    expect(reachedAsPartner).toBeGreaterThan(SAFETY_RUNS / 100);
  });

  it('(6) nothing is created inside a collection the actor cannot see, nor above what they could then see', () => {
    let created = 0;
    fc.assert(
      fc.property(worldArb, fc.constantFrom<ContentAction>('collection.create', 'document.create'), (w, action) => {
        fc.pre(w.actor.kind === 'user' && w.resource.kind === 'collection');
        const got = decideIn({ ...w, action });
        if (!got.allow) return;
        created += 1;
        const parent = w.resource;
        const asCreated = { ...parent, classification: w.context.newClassification === 'OFFICIAL-SENSITIVE' ? 'OFFICIAL-SENSITIVE' as const : parent.classification };
        expect(decide(w.actor, 'collection.list', parent, w.context).allow).toBe(true);
        expect(decide(w.actor, 'collection.list', asCreated, w.context).allow).toBe(true);
      }),
      { numRuns: SAFETY_RUNS },
    );
    expect(created).toBeGreaterThan(SAFETY_RUNS / 100);
  });

  it('(7) a version found infected, blocked or held is downloaded by no one; one still pending only by its reviewer', () => {
    let downloadableOtherwise = 0;
    fc.assert(
      fc.property(worldArb, fc.constantFrom<ScanStatus>('infected', 'blocked', 'held', 'pending'), (w, scan) => {
        fc.pre(w.resource.kind === 'document');
        const asked: World = { ...w, action: 'document.download' };
        if (decideIn(asked).allow) downloadableOtherwise += 1;
        const got = decideIn({ ...asked, resource: { ...asked.resource, versionScan: scan } as ContentResource });
        expect(got.allow).toBe(modelDecide(asked.actor, 'document.download', { ...asked.resource, versionScan: scan } as ContentResource, asked.context).allow);
        if (scan !== 'pending') expect(got.allow).toBe(false);
        else if (got.allow) expect(got.reason === 'system' || got.reason === 'security_admin_review').toBe(true);
      }),
      { numRuns: SAFETY_RUNS },
    );
    expect(downloadableOtherwise).toBeGreaterThan(SAFETY_RUNS / 100);
  });

  it('(5) decisions never depend on the order of the arrangements', () => {
    // Siblings of existing arrangements (same parties and service area, other terms) make it common
    // for several arrangements to compete for one decision, which is where order could leak in.
    const siblingArb = fc.record({ of: fc.nat(), accessLevel: fc.constantFrom<AccessLevel>('read', 'contribute', 'manage'), ceiling: classificationArb, status: arrangementStatusArb });
    const worldWithSiblingsArb = fc.tuple(worldArb, fc.array(siblingArb, { maxLength: 3 })).map(([w, siblings]) => {
      const originals = w.context.arrangements;
      if (originals.length === 0) return w;
      const extra = siblings.map((s, i): Arrangement => ({ ...originals[s.of % originals.length]!, id: `arr-sibling-${i + 1}`, accessLevel: s.accessLevel, ceiling: s.ceiling, status: s.status }));
      return withArrangements(w, [...originals, ...extra]);
    });
    const worldAndShuffleArb = worldWithSiblingsArb.chain((w) => {
      const all = [...w.context.arrangements];
      return fc.tuple(fc.constant(w), fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }));
    });
    let competingArrangements = 0;
    fc.assert(
      fc.property(worldAndShuffleArb, ([w, shuffled]) => {
        const before = decideIn(w);
        const after = decideIn(withArrangements(w, shuffled));
        if (coveringArrangements(w.actor, 'collection.list', w.resource, w.context).length > 1) competingArrangements += 1;
        expect({ allow: after.allow, reason: after.reason }).toEqual({ allow: before.allow, reason: before.reason });
        // Either order may name a different arrangement, but both must name one that covers.
        if (before.via !== null || after.via !== null) {
          const covering = coveringArrangements(w.actor, w.action, w.resource, w.context).map((a) => a.id);
          expect(covering).toContain(before.via);
          expect(covering).toContain(after.via);
        }
      }),
      { numRuns: SAFETY_RUNS },
    );
    expect(competingArrangements).toBeGreaterThan(SAFETY_RUNS / 100);
  });
});

// ---------------------------------------------------------------------------------------------
// Content actions by example: the rules most likely to be got wrong
// ---------------------------------------------------------------------------------------------

describe('content actions: examples', () => {
  const context: DecisionContext = { now: NOW, arrangements: [], holds: NO_HOLDS };

  it('lets the system do anything and a user without an organisation nothing', () => {
    const doc = documentOf({ organisationId: 'org-a' });
    expect(decide(SYSTEM, 'document.delete', doc, context)).toMatchObject({ allow: true, via: null });
    expect(decide(userOf(null, ALL_ROLES, SERVICE_AREAS, 'OFFICIAL-SENSITIVE'), 'document.read', doc, context).allow).toBe(false);
  });

  it('refuses everything on a disposed document, even to its own team', () => {
    const staff = userOf('org-a', ['records_manager'], ['payroll']);
    expect(decide(staff, 'document.read', documentOf({ organisationId: 'org-a', status: 'disposed' }), context).allow).toBe(false);
    expect(decide(staff, 'document.delete', documentOf({ organisationId: 'org-a' }), context).allow).toBe(true);
  });

  it('requires clearance for the new classification when classifying', () => {
    const staff = userOf('org-a', ['member'], ['payroll'], 'OFFICIAL');
    const doc = documentOf({ organisationId: 'org-a' });
    expect(decide(staff, 'document.classify', doc, { ...context, newClassification: 'OFFICIAL' }).allow).toBe(true);
    expect(decide(staff, 'document.classify', doc, { ...context, newClassification: 'OFFICIAL-SENSITIVE' }).allow).toBe(false);
    expect(decide(staff, 'document.classify', doc, context).allow).toBe(false);
  });

  it('creates inside a collection only for someone who may see it as it is, and only what they could then see', () => {
    const sensitiveFolder = { kind: 'collection' as const, id: 'col-1', organisationId: 'org-a', serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' as const, arrangementId: null };
    const officialFolder = { ...sensitiveFolder, classification: 'OFFICIAL' as const };
    const lowClearance = userOf('org-a', ['member'], ['payroll'], 'OFFICIAL');
    const official = { ...context, newClassification: 'OFFICIAL' as const };
    // Below the folder's classification: a sub-folder or file marked lower than the folder changes nothing.
    expect(decide(lowClearance, 'collection.list', sensitiveFolder, context).allow).toBe(false);
    expect(decide(lowClearance, 'collection.create', sensitiveFolder, official).allow).toBe(false);
    expect(decide(lowClearance, 'document.create', sensitiveFolder, official).allow).toBe(false);
    // Nothing may be created above the creator's own clearance.
    expect(decide(lowClearance, 'document.create', officialFolder, official).allow).toBe(true);
    expect(decide(lowClearance, 'document.create', officialFolder, { ...context, newClassification: 'OFFICIAL-SENSITIVE' }).allow).toBe(false);
    // An org admin outside the team cannot open the folder, so cannot add to it either.
    const orgAdmin = userOf('org-a', ['org_admin'], ['hr'], 'OFFICIAL-SENSITIVE');
    expect(decide(orgAdmin, 'collection.list', sensitiveFolder, context).allow).toBe(false);
    expect(decide(orgAdmin, 'collection.create', sensitiveFolder, official).allow).toBe(false);
    // Creating happens inside collections only.
    expect(decide(userOf('org-a', ['member'], ['payroll'], 'OFFICIAL-SENSITIVE'), 'document.create', documentOf({ organisationId: 'org-a' }), official)).toMatchObject({ allow: false, reason: 'wrong_resource' });
  });

  it('lets a partner whose ceiling is below the folder create nothing in it', () => {
    const arrangement = arrangementOf({ id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'], accessLevel: 'manage', ceiling: 'OFFICIAL' });
    const withIt: DecisionContext = { now: NOW, arrangements: [arrangement], holds: NO_HOLDS, newClassification: 'OFFICIAL' };
    const partnerStaff = userOf('org-b', ['member'], ['payroll'], 'OFFICIAL-SENSITIVE');
    const workspace = { kind: 'collection' as const, id: 'col-1', organisationId: 'org-a', serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' as const, arrangementId: 'arr-1' };
    expect(decide(partnerStaff, 'collection.create', workspace, withIt).allow).toBe(false);
    expect(decide(partnerStaff, 'document.create', workspace, withIt).allow).toBe(false);
    const officialWorkspace = { ...workspace, classification: 'OFFICIAL' as const };
    expect(decide(partnerStaff, 'document.create', officialWorkspace, withIt)).toMatchObject({ allow: true, via: 'arr-1' });
    expect(decide(partnerStaff, 'document.create', officialWorkspace, { ...withIt, newClassification: 'OFFICIAL-SENSITIVE' }).allow).toBe(false);
  });

  it('lets an organisation’s security admin review its quarantined documents, and nobody download them', () => {
    const quarantined = documentOf({ organisationId: 'org-a', status: 'quarantined', serviceArea: 'hr' });
    const pending = documentOf({ organisationId: 'org-a', status: 'pending_scan', serviceArea: 'hr' });
    const securityAdmin = userOf('org-a', ['security_admin'], []);
    const ownTeam = userOf('org-a', ['member'], ['hr']);
    expect(decide(securityAdmin, 'document.read', quarantined, context).allow).toBe(true);
    expect(decide(securityAdmin, 'document.download', quarantined, context).allow).toBe(false);
    expect(decide(securityAdmin, 'document.download', pending, context).allow).toBe(true);
    expect(decide(ownTeam, 'document.download', pending, context).allow).toBe(false);
    expect(decide(securityAdmin, 'document.rename', quarantined, context).allow).toBe(false);
    expect(decide(ownTeam, 'document.read', quarantined, context).allow).toBe(true);
    expect(decide(ownTeam, 'document.download', quarantined, context).allow).toBe(false);
    expect(decide(userOf('org-b', ['security_admin'], ['hr']), 'document.download', quarantined, context).allow).toBe(false);
  });

  it('lets no one download a version found infected or blocked, the security admin reviewing a newer pending one included', () => {
    const pending = documentOf({ organisationId: 'org-a', status: 'pending_scan', serviceArea: 'hr' }) as DocumentResource;
    const available = documentOf({ organisationId: 'org-a', status: 'available', serviceArea: 'hr' }) as DocumentResource;
    const securityAdmin = userOf('org-a', ['security_admin'], ['hr']);
    const ownTeam = userOf('org-a', ['member'], ['hr']);
    for (const bad of ['infected', 'blocked'] as const) {
      expect(decide(securityAdmin, 'document.download', { ...pending, versionScan: bad }, context)).toMatchObject({ allow: false, reason: `version_${bad}` });
      expect(decide(securityAdmin, 'document.download', { ...available, versionScan: bad }, context)).toMatchObject({ allow: false, reason: `version_${bad}` });
      expect(decide(ownTeam, 'document.download', { ...available, versionScan: bad }, context)).toMatchObject({ allow: false, reason: `version_${bad}` });
      expect(decide(SYSTEM, 'document.download', { ...available, versionScan: bad }, context).allow).toBe(false);
    }
    expect(decide(securityAdmin, 'document.download', { ...pending, versionScan: 'pending' }, context)).toMatchObject({ allow: true, reason: 'security_admin_review' });
    // An older clean version of a document under review waits for the review like the newest.
    expect(decide(securityAdmin, 'document.download', { ...pending, versionScan: 'clean' }, context).allow).toBe(false);
    expect(decide(ownTeam, 'document.download', { ...available, versionScan: 'pending' }, context)).toMatchObject({ allow: false, reason: 'version_pending' });
    expect(decide(ownTeam, 'document.download', { ...available, versionScan: 'released' }, context).allow).toBe(true);
    expect(decide(ownTeam, 'document.download', { ...available, versionScan: 'clean' }, context).allow).toBe(true);
  });

  // The two examples below follow from reading the status rules as prohibitions that bind every
  // grant (the security admin's included) and the clearance rule as binding every user.
  it('does not let a security admin download a soft-deleted quarantined document', () => {
    const deletedQuarantined = documentOf({ organisationId: 'org-a', status: 'quarantined', deleted: true });
    const securityAdmin = userOf('org-a', ['security_admin'], [], 'OFFICIAL-SENSITIVE');
    expect(decide(securityAdmin, 'document.download', deletedQuarantined, context).allow).toBe(false);
  });

  it('does not let a security admin read above their clearance', () => {
    const sensitive = documentOf({ organisationId: 'org-a', status: 'pending_scan', classification: 'OFFICIAL-SENSITIVE' });
    const securityAdmin = userOf('org-a', ['security_admin'], [], 'OFFICIAL');
    expect(decide(securityAdmin, 'document.read', sensitive, context).allow).toBe(false);
  });

  it('lets partner staff into the joint workspace only, and host staff into partner documents', () => {
    const arrangement = arrangementOf({ id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'], accessLevel: 'contribute' });
    const withIt: DecisionContext = { now: NOW, arrangements: [arrangement], holds: NO_HOLDS };
    const partnerStaff = userOf('org-b', ['member'], ['payroll']);
    const hostStaff = userOf('org-a', ['member'], ['payroll']);
    const workspaceDoc = documentOf({ organisationId: 'org-a', arrangementId: 'arr-1' });
    expect(decide(partnerStaff, 'document.version', workspaceDoc, withIt)).toMatchObject({ allow: true, via: 'arr-1' });
    expect(decide(partnerStaff, 'document.rename', workspaceDoc, withIt).allow).toBe(false); // needs manage
    expect(decide(partnerStaff, 'document.read', documentOf({ organisationId: 'org-a' }), withIt).allow).toBe(false);
    expect(decide(hostStaff, 'document.read', documentOf({ organisationId: 'org-b' }), withIt)).toMatchObject({ allow: true, via: 'arr-1' });
    expect(decide(hostStaff, 'document.read', documentOf({ organisationId: 'org-c' }), withIt).allow).toBe(false);
  });

  it('closes an arrangement the moment it ends, and while any partner has not accepted', () => {
    const partnerDoc = documentOf({ organisationId: 'org-b' });
    const hostStaff = userOf('org-a', ['member'], ['payroll']);
    const base = { id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b', 'org-c'] };
    const read = (a: Arrangement) => decide(hostStaff, 'document.read', partnerDoc, { now: NOW, arrangements: [a], holds: NO_HOLDS }).allow;
    expect(read(arrangementOf({ ...base, endsAt: new Date(NOW.getTime() + 1).toISOString() }))).toBe(true);
    expect(read(arrangementOf({ ...base, endsAt: NOW.toISOString() }))).toBe(false);
    expect(read(arrangementOf({ ...base, startsAt: new Date(NOW.getTime() + 1).toISOString() }))).toBe(false);
    expect(read(arrangementOf({ ...base, acceptedBy: ['org-b'] }))).toBe(false);
  });

  // The specification grants through an arrangement when EITHER the joint-workspace branch OR the
  // host-serves-partner branch holds; a workspace tag on a partner's document must not take the second away.
  it('lets host staff reach a partner document even if it carries the arrangement’s workspace id', () => {
    const arrangement = arrangementOf({ id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'] });
    const taggedPartnerDoc = documentOf({ organisationId: 'org-b', arrangementId: 'arr-1' });
    const hostStaff = userOf('org-a', ['member'], ['payroll']);
    expect(decide(hostStaff, 'document.read', taggedPartnerDoc, { now: NOW, arrangements: [arrangement], holds: NO_HOLDS })).toMatchObject({ allow: true, via: 'arr-1' });
  });
});

// ---------------------------------------------------------------------------------------------
// Organisations reachable through arrangements
// ---------------------------------------------------------------------------------------------

describe('reachable organisations', () => {
  /** Every content action on every shape of resource an organisation could hold, as decide() sees them. */
  function someContentAllowed(w: World, organisationId: string): boolean {
    const workspaces = [null, ...w.context.arrangements.map((a) => a.id)];
    for (const serviceArea of SERVICE_AREAS) {
      for (const classification of CLASSIFICATION_VALUES) {
        for (const arrangementId of workspaces) {
          const common = { id: 'res-1', organisationId, serviceArea, classification, arrangementId };
          const resources: ContentResource[] = [
            { kind: 'collection', ...common },
            { kind: 'document', ...common, status: 'available', deleted: false },
          ];
          for (const resource of resources) {
            for (const action of CONTENT_ACTION_NAMES) {
              if (decide(w.actor, action, resource, { ...w.context, newClassification: classification }).allow) return true;
            }
          }
        }
      }
    }
    return false;
  }

  it('are exactly the other organisations where some content action on some resource could be allowed, and the model’s', () => {
    let reached = 0;
    let unreached = 0;
    fc.assert(
      fc.property(worldArb, (w) => {
        fc.pre(w.actor.kind === 'user' && w.actor.organisationId !== null);
        const got = reachableOrganisations(w.actor, w.context.arrangements, w.context.now);
        expect(got).toEqual(modelReachable(w.actor, w.context.arrangements, w.context.now));
        for (const organisationId of ORGANISATION_IDS) {
          if (organisationId === w.actor.organisationId) continue;
          const expected = someContentAllowed(w, organisationId);
          if (expected) reached += 1;
          else unreached += 1;
          expect(got.includes(organisationId), `${organisationId} reachable`).toBe(expected);
        }
      }),
      { numRuns: SAFETY_RUNS / 4 },
    );
    expect(reached).toBeGreaterThan(SAFETY_RUNS / 20);
    expect(unreached).toBeGreaterThan(SAFETY_RUNS / 20);
  });

  it('examples: suspended, not yet accepted, or outside the team reach nothing; partners of one host do not reach each other', () => {
    const threeWay = arrangementOf({ id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b', 'org-c'] });
    const staff = (org: string, teams = ['payroll']) => userOf(org, ['member'], teams);
    expect(reachableOrganisations(staff('org-a'), [threeWay], NOW)).toEqual(['org-b', 'org-c']);
    expect(reachableOrganisations(staff('org-b'), [threeWay], NOW)).toEqual(['org-a']);
    expect(reachableOrganisations(staff('org-b', ['hr']), [threeWay], NOW)).toEqual([]);
    expect(reachableOrganisations(staff('org-a'), [{ ...threeWay, status: 'suspended' }], NOW)).toEqual([]);
    expect(reachableOrganisations(staff('org-a'), [{ ...threeWay, acceptedBy: ['org-b'] }], NOW)).toEqual([]);
    expect(reachableOrganisations(staff('org-a'), [{ ...threeWay, endsAt: NOW.toISOString() }], NOW)).toEqual([]);
    expect(reachableOrganisations(staff('org-d'), [threeWay], NOW)).toEqual([]);
    expect(reachableOrganisations(SYSTEM, [threeWay], NOW)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Legal holds: the freeze
// ---------------------------------------------------------------------------------------------

describe('legal holds', () => {
  const FROZEN: Action[] = ['document.delete', 'document.version', 'document.rename', 'document.classify', 'document.dispose', 'document.purge'];
  const OPEN: Action[] = ['document.read', 'document.download', 'document.restore', 'document.access-history'];
  const held = (id: string): DecisionContext => ({ now: NOW, arrangements: [], holds: new Map([[id, [SMITH]]]), newClassification: 'OFFICIAL' });
  const free: DecisionContext = { now: NOW, arrangements: [], holds: NO_HOLDS, newClassification: 'OFFICIAL' };
  const member = userOf('org-a', ['member'], ['payroll'], 'OFFICIAL-SENSITIVE');
  const recordsManager = userOf('org-a', ['records_manager'], [], 'OFFICIAL-SENSITIVE');
  const doc: DocumentResource = { kind: 'document', id: 'doc-held', organisationId: 'org-a', serviceArea: 'payroll', classification: 'OFFICIAL', status: 'available', deleted: false, arrangementId: null };
  const folder = { kind: 'collection' as const, id: 'col-held', organisationId: 'org-a', serviceArea: 'payroll', classification: 'OFFICIAL' as const, arrangementId: null };

  it('freezes a held document for its team, its records manager and the system alike, naming the hold', () => {
    for (const actor of [member, recordsManager, SYSTEM]) {
      for (const action of FROZEN) {
        const destruction = action === 'document.dispose' || action === 'document.purge';
        // People never dispose or purge (the system's jobs do); what matters is that the hold refuses the system too.
        if (destruction && actor !== SYSTEM) {
          expect(decide(actor, action, doc, held('doc-held'))).toMatchObject({ allow: false, reason: 'system_only' });
          continue;
        }
        expect(decide(actor, action, doc, free).allow, `${action} unheld`).toBe(true);
        expect(decide(actor, action, doc, held('doc-held')), `${action} held`).toEqual({ allow: false, reason: 'legal_hold', via: null, hold: SMITH });
      }
    }
  });

  it('leaves reading, downloading, restoring, the access history and adding to a held collection open', () => {
    for (const action of OPEN) expect(decide(member, action, action === 'document.restore' ? { ...doc, deleted: true } : doc, held('doc-held')).allow, action).toBe(true);
    expect(decide(member, 'document.create', folder, held('col-held')).allow).toBe(true);
    expect(decide(member, 'collection.create', folder, held('col-held')).allow).toBe(true);
  });

  it('refuses deleting or moving a held collection (asked as document.delete and document.rename on it)', () => {
    expect(decide(member, 'document.delete', folder, held('col-held'))).toMatchObject({ allow: false, reason: 'legal_hold', hold: SMITH });
    expect(decide(member, 'document.rename', folder, held('col-held'))).toMatchObject({ allow: false, reason: 'legal_hold', hold: SMITH });
    expect(decide(member, 'document.delete', folder, held('another')).allow).toBe(true);
  });

  it('lets the scan verdict through on a held document, and only the system write it', () => {
    expect(decide(SYSTEM, 'document.scan-verdict', { ...doc, status: 'pending_scan' }, held('doc-held'))).toMatchObject({ allow: true, reason: 'system' });
    expect(decide(member, 'document.scan-verdict', doc, free)).toMatchObject({ allow: false, reason: 'system_only' });
  });

  it('refuses destroying a held quarantined file to its security admin, and asks the organisation rule otherwise', () => {
    const securityAdmin = userOf('org-a', ['security_admin'], [], 'OFFICIAL');
    const quarantined = { ...doc, status: 'quarantined' as const };
    expect(decide(securityAdmin, 'quarantine.destroy', quarantined, free)).toMatchObject({ allow: true });
    expect(decide(securityAdmin, 'quarantine.destroy', quarantined, held('doc-held'))).toMatchObject({ allow: false, reason: 'legal_hold', hold: SMITH });
    expect(decide(member, 'quarantine.destroy', quarantined, free)).toMatchObject({ allow: false, reason: 'role' });
    expect(decide(userOf('org-b', ['security_admin']), 'quarantine.destroy', quarantined, free)).toMatchObject({ allow: false, reason: 'other_organisation' });
  });

  it('refuses releasing a held quarantined version to its security admin (it would change the held record), naming the hold', () => {
    const securityAdmin = userOf('org-a', ['security_admin'], [], 'OFFICIAL');
    const quarantined = { ...doc, status: 'quarantined' as const };
    expect(decide(securityAdmin, 'quarantine.release', quarantined, free)).toMatchObject({ allow: true, reason: 'security_admin' });
    expect(decide(securityAdmin, 'quarantine.release', quarantined, held('doc-held'))).toEqual({ allow: false, reason: 'legal_hold', via: null, hold: SMITH });
    // A hold over some other document does not touch this one; an outsider is refused as before, never told of the hold.
    expect(decide(securityAdmin, 'quarantine.release', quarantined, held('another')).allow).toBe(true);
    expect(decide(member, 'quarantine.release', quarantined, held('doc-held'))).toMatchObject({ allow: false, reason: 'role' });
  });

  it('refuses a records manager\'s decision to destroy or transfer a held record (records.dispose asked of it), but not the batch itself', () => {
    expect(decide(recordsManager, 'records.dispose', doc, free)).toMatchObject({ allow: true, reason: 'records_manager' });
    expect(decide(recordsManager, 'records.dispose', doc, held('doc-held'))).toEqual({ allow: false, reason: 'legal_hold', via: null, hold: SMITH });
    expect(decide(recordsManager, 'records.dispose', { kind: 'organisation', organisationId: 'org-a' }, held('doc-held'))).toMatchObject({ allow: true });
    // Only the organisation's own records managers are asked about the hold at all.
    expect(decide(member, 'records.dispose', doc, held('doc-held'))).toMatchObject({ allow: false, reason: 'role' });
    expect(decide(userOf('org-b', ['records_manager'], [], 'OFFICIAL-SENSITIVE'), 'records.dispose', doc, held('doc-held'))).toMatchObject({ allow: false, reason: 'other_organisation' });
  });

  it('names a quarantined file, and releases it, only up to the security admin\'s clearance; destroys it whatever the clearance', () => {
    const sensitive = { ...doc, status: 'quarantined' as const, classification: 'OFFICIAL-SENSITIVE' as const };
    const official = { ...sensitive, classification: 'OFFICIAL' as const };
    const sensitiveFolder = { kind: 'collection' as const, id: 'col-s', organisationId: 'org-a', serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' as const, arrangementId: null };
    const officialFolder = { ...sensitiveFolder, id: 'col-o', classification: 'OFFICIAL' as const };
    const officialAdmin = userOf('org-a', ['security_admin'], [], 'OFFICIAL');
    const clearedAdmin = userOf('org-a', ['security_admin'], [], 'OFFICIAL-SENSITIVE');
    expect(decide(officialAdmin, 'quarantine.identify', sensitive, free)).toMatchObject({ allow: false, reason: 'clearance' });
    expect(decide(officialAdmin, 'quarantine.identify', sensitiveFolder, free)).toMatchObject({ allow: false, reason: 'clearance' });
    expect(decide(officialAdmin, 'quarantine.identify', official, free)).toMatchObject({ allow: true, reason: 'security_admin' });
    expect(decide(officialAdmin, 'quarantine.identify', officialFolder, free)).toMatchObject({ allow: true, reason: 'security_admin' });
    expect(decide(clearedAdmin, 'quarantine.identify', sensitive, free)).toMatchObject({ allow: true, reason: 'security_admin' });
    expect(decide(clearedAdmin, 'quarantine.identify', sensitiveFolder, free)).toMatchObject({ allow: true, reason: 'security_admin' });
    expect(decide(officialAdmin, 'quarantine.release', sensitive, free)).toMatchObject({ allow: false, reason: 'clearance' });
    expect(decide(officialAdmin, 'quarantine.release', official, free)).toMatchObject({ allow: true, reason: 'security_admin' });
    expect(decide(clearedAdmin, 'quarantine.release', sensitive, free)).toMatchObject({ allow: true, reason: 'security_admin' });
    expect(decide(officialAdmin, 'quarantine.destroy', sensitive, free)).toMatchObject({ allow: true, reason: 'security_admin' });
    // Not a security admin, or another organisation's: not even at the highest clearance.
    const clearedMember = userOf('org-a', ['member', 'org_admin', 'records_manager'], SERVICE_AREAS, 'OFFICIAL-SENSITIVE');
    const otherAdmin = userOf('org-b', ['security_admin'], [], 'OFFICIAL-SENSITIVE');
    for (const action of ['quarantine.identify', 'quarantine.release'] as const) {
      expect(decide(clearedMember, action, official, free)).toMatchObject({ allow: false, reason: 'role' });
      expect(decide(otherAdmin, action, official, free)).toMatchObject({ allow: false, reason: 'other_organisation' });
    }
    // Identifying is asked of an item, never of the organisation as a whole.
    expect(decide(clearedAdmin, 'quarantine.identify', { kind: 'organisation', organisationId: 'org-a' }, free)).toMatchObject({ allow: false, reason: 'wrong_resource' });
  });

  it('never names a hold to someone refused for another reason (an outsider is refused as before)', () => {
    const outsider = userOf('org-b', ALL_ROLES, SERVICE_AREAS, 'OFFICIAL-SENSITIVE');
    for (const action of FROZEN) {
      const got = decide(outsider, action, doc, held('doc-held'));
      expect(got.allow).toBe(false);
      expect(got.hold).toBeUndefined();
    }
  });
});


// ---------------------------------------------------------------------------------------------
// Deny by default: every action on every kind of resource yields a decision
// ---------------------------------------------------------------------------------------------

/** The organisation actions asked of one item, and the kinds of item. */
const ITEM_ACTIONS: readonly [Action, Resource['kind']][] = [
  ['quarantine.destroy', 'document'], ['quarantine.release', 'document'], ['quarantine.identify', 'document'], ['quarantine.identify', 'collection'],
  ['records.dispose', 'document'],
];

describe('deny by default', () => {
  it('answers every action on every kind of resource, denying an action on the wrong kind', () => {
    const actions: Action[] = [...CONTENT_ACTION_NAMES, ...ORGANISATION_ACTIONS, ...ARRANGEMENT_ACTIONS, ...PERSON_ACTIONS, ...SUBJECT_ACCESS_ACTIONS];
    const family = (a: Action) =>
      a in CONTENT_ACTIONS ? 'content' : (ORGANISATION_ACTIONS as readonly string[]).includes(a) ? 'organisation' : (PERSON_ACTIONS as readonly string[]).includes(a) ? 'person'
        : (SUBJECT_ACCESS_ACTIONS as readonly string[]).includes(a) ? 'subject-access' : 'arrangement';
    const resources: Record<'content' | 'organisation' | 'arrangement' | 'person' | 'subject-access', Resource[]> = {
      'subject-access': [{ kind: 'subject-access', organisationId: 'org-a', partOrganisationId: 'org-a' }],
      person: [{ kind: 'person', userId: 'someone-else', organisationId: 'org-a' }],
      content: [documentOf({ organisationId: 'org-a' }), { kind: 'collection', id: 'col-1', organisationId: 'org-a', serviceArea: 'payroll', classification: 'OFFICIAL', arrangementId: null }],
      organisation: [{ kind: 'organisation', organisationId: 'org-a' }, { kind: 'disposal-batch', id: 'batch-1', organisationId: 'org-a', early: { proposedBy: 'someone-else' }, due: null }, { kind: 'disposal-batch', id: 'batch-2', organisationId: 'org-a', early: null, due: { broughtForwardBy: null } }],
      arrangement: [{ kind: 'arrangement', arrangement: { id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'], status: 'draft', acceptedBy: [], revision: 1, termsRevision: 1 } }],
    };
    const omnipotentUser = userOf('org-a', ALL_ROLES, SERVICE_AREAS, 'OFFICIAL-SENSITIVE');
    const problems: string[] = [];
    for (const action of actions) {
      for (const [kind, list] of Object.entries(resources)) {
        for (const resource of list) {
          const got = decide(omnipotentUser, action, resource, { now: NOW, arrangements: [], holds: NO_HOLDS, newClassification: 'OFFICIAL' }) as ReturnType<typeof decide> | undefined;
          if (typeof got?.allow !== 'boolean') problems.push(`${action} on ${resource.kind}: returned ${JSON.stringify(got)}`);
          // Quarantine work on one file is asked of its document (so holds apply, and its classification counts), and naming one of its collection;
          // a disposal decision on one record is asked of it (so holds apply).
          else if (kind !== family(action) && got.allow && !ITEM_ACTIONS.some(([a, k]) => a === action && k === resource.kind)) problems.push(`${action} on ${resource.kind}: allowed`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Credential scopes: a read-only API token or app password
// ---------------------------------------------------------------------------------------------

describe('a read-only credential', () => {
  const readOnly = (actor: Actor): Actor => ({ ...actor, credential: { kind: 'api_token', id: 'cred-1', scope: 'read' } });
  const full = (actor: Actor): Actor => ({ ...actor, credential: { kind: 'api_token', id: 'cred-1', scope: 'full' } });

  it('is refused every content action that changes something, as `credential_scope`, exactly where it would otherwise be allowed (a hold aside); reads and full credentials decide as before', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const without = decideIn(w);
        expect(decide(full(w.actor), w.action, w.resource, w.context)).toEqual(without);
        const scoped = decide(readOnly(w.actor), w.action, w.resource, w.context);
        // Asked before a hold (which is asked last): a read-only credential is told of its scope, never of the hold.
        const otherwiseAllowed = without.allow || without.reason === 'legal_hold';
        if (ACTION_EFFECTS[w.action] === 'read' || !otherwiseAllowed) expect(scoped).toEqual(without);
        else expect(scoped).toEqual({ allow: false, reason: 'credential_scope', via: null });
      }),
      { numRuns: SAFETY_RUNS },
    );
  });

  it('reads the audit log, the register and people\'s names; makes no credential, manages nobody, steps no arrangement', () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const admin = readOnly(userOf('org-a', ['org_admin', 'auditor', 'records_manager', 'dpo']));
    const org = { kind: 'organisation', organisationId: 'org-a' } as const;
    const self = { kind: 'person', userId: 'user-1', organisationId: 'org-a' } as const;
    const colleague = { kind: 'person', userId: 'user-2', organisationId: 'org-a', disabledBy: 'admin', disabled: false, signsInThroughProvider: false, lastEnabledOrgAdmin: false } as const;
    for (const action of ['audit.read', 'audit.export', 'records.read'] as const) expect(decide(admin, action, org, context).allow).toBe(true);
    expect(decide(admin, 'person.identify', colleague, context).allow).toBe(true);
    expect(decide(admin, 'person.manage-credentials', self, context)).toMatchObject({ allow: false, reason: 'credential_scope' });
    for (const action of ['organisation.manage-users', 'organisation.identity', 'records.file-plan', 'records.hold', 'records.dispose', 'subject-access.manage'] as const) {
      expect(decide(admin, action, org, context)).toMatchObject({ allow: false, reason: 'credential_scope' });
    }
    for (const action of ['person.disable', 'person.enable', 'person.reset-mfa', 'person.reset-password'] as const) {
      expect(decide(admin, action, colleague, context)).toMatchObject({ allow: false, reason: 'credential_scope' });
    }
    const draft = arrangementOf({ id: 'arr-1', hostOrganisationId: 'org-a', partnerOrganisationIds: ['org-b'], status: 'active', acceptedBy: ['org-b'] });
    const arrangement = { kind: 'arrangement', arrangement: draft } as const;
    expect(decide(admin, 'arrangement.read', arrangement, context).allow).toBe(true);
    expect(decide(admin, 'arrangement.suspend', arrangement, context)).toMatchObject({ allow: false, reason: 'credential_scope' });
  });

  it('reads what its person may change beside them (credentials, people, sign-in settings, subject access, dead jobs) exactly where the change is allowed, and still changes none of it', () => {
    const arrangements = [arrangementOf({ id: 'arr-1', hostOrganisationId: 'org-b', partnerOrganisationIds: ['org-a'] })];
    const actors: Actor[] = [
      SYSTEM, { ...SYSTEM, kind: 'directory', organisationId: 'org-a', channel: 'api' }, userOf(null, ALL_ROLES),
      ...['org-a', 'org-b', 'org-c'].flatMap((org) => ROLE_SETS.map((roles) => userOf(org, roles))),
    ];
    const resources: Resource[] = ['org-a', 'org-b'].flatMap((org): Resource[] => [
      { kind: 'organisation', organisationId: org },
      { kind: 'person', userId: 'user-1', organisationId: org },
      { kind: 'person', userId: 'user-2', organisationId: org },
      ...['org-a', 'org-b', 'org-c'].map((part): Resource => ({ kind: 'subject-access', organisationId: org, partOrganisationId: part })),
    ]);
    const mismatches: string[] = [];
    for (const [read, change] of Object.entries(READS_BESIDE_CHANGES) as [Action, Action][]) {
      expect([ACTION_EFFECTS[read], ACTION_EFFECTS[change]]).toEqual(['read', 'change']);
      for (const context of [{ now: NOW, arrangements: [], holds: NO_HOLDS }, { now: NOW, arrangements, holds: NO_HOLDS }]) {
        for (const actor of actors) {
          for (const resource of resources) {
            const asChange = decide(actor, change, resource, context);
            const seen = (a: Actor, action: Action) => JSON.stringify(decide(a, action, resource, context));
            const where = `${read} ${actor.kind}:${actor.organisationId}:[${actor.roles.join(',')}] ${JSON.stringify(resource)} arrangements=${context.arrangements.length}`;
            // The same people, for the same reason; a read-only credential reads where its person may change, and changes nothing.
            if (seen(actor, read) !== JSON.stringify(asChange)) mismatches.push(`${where}: full`);
            if (actor.kind === 'user' && seen(readOnly(actor), read) !== JSON.stringify(asChange)) mismatches.push(`${where}: read-only`);
            const refused = asChange.allow ? { allow: false, reason: 'credential_scope', via: null } : asChange;
            if (actor.kind === 'user' && seen(readOnly(actor), change) !== JSON.stringify(refused)) mismatches.push(`${where}: change`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    // Some of each are allowed, so the comparison is not of refusals only.
    const context = { now: NOW, arrangements, holds: NO_HOLDS };
    expect(decide(readOnly(userOf('org-a', ['member'])), 'person.read-credentials', { kind: 'person', userId: 'user-1', organisationId: 'org-a' }, context)).toEqual({ allow: true, reason: 'self', via: null });
    expect(decide(readOnly(userOf('org-a', ['org_admin'])), 'organisation.read-users', { kind: 'organisation', organisationId: 'org-a' }, context)).toEqual({ allow: true, reason: 'org_admin', via: null });
    expect(decide(readOnly(userOf('org-a', ['org_admin'])), 'organisation.read-identity', { kind: 'organisation', organisationId: 'org-a' }, context)).toEqual({ allow: true, reason: 'org_admin', via: null });
    expect(decide(readOnly(userOf('org-a', ['dpo'])), 'subject-access.read', { kind: 'organisation', organisationId: 'org-a' }, context)).toEqual({ allow: true, reason: 'dpo', via: null });
    expect(decide(readOnly(userOf('org-b', ['dpo'])), 'subject-access.read-part', { kind: 'subject-access', organisationId: 'org-a', partOrganisationId: 'org-b' }, context)).toEqual({ allow: true, reason: 'dpo', via: 'arr-1' });
    expect(decide(readOnly(userOf('org-a', ['dpo'])), 'subject-access.read-received', { kind: 'subject-access', organisationId: 'org-a', partOrganisationId: 'org-b' }, context)).toEqual({ allow: true, reason: 'dpo', via: 'arr-1' });
    expect(decide(readOnly(userOf('org-a', ALL_ROLES)), 'jobs.read', { kind: 'organisation', organisationId: 'org-a' }, context)).toEqual({ allow: false, reason: 'system_only', via: null });
    expect(decide(SYSTEM, 'jobs.read', { kind: 'organisation', organisationId: '' }, context)).toEqual({ allow: true, reason: 'system', via: null });
  });

  it('fails closed: a credential whose scope is neither full nor read (none Strongroom writes) is refused every change, as a read-only one', () => {
    const context = { now: NOW, arrangements: [], holds: NO_HOLDS };
    const admin = userOf('org-a', ['org_admin']);
    const org = { kind: 'organisation', organisationId: 'org-a' } as const;
    for (const scope of ['READ', 'admin', '', undefined]) {
      const odd = { ...admin, credential: { kind: 'api_token', id: 'cred-1', scope } } as unknown as Actor;
      expect(decide(odd, 'organisation.manage-users', org, context), String(scope)).toEqual({ allow: false, reason: 'credential_scope', via: null });
      expect(decide(odd, 'audit.checkpoints', org, context).allow).toBe(true);
    }
  });

  it('classifies every action: exactly the ones that only read are open to it', () => {
    const reads = Object.entries(ACTION_EFFECTS).filter(([, effect]) => effect === 'read').map(([action]) => action).sort();
    expect(reads).toEqual([
      'arrangement.read', 'audit.checkpoints', 'audit.export', 'audit.read', 'audit.verify', 'collection.list', 'document.access-history', 'document.download', 'document.read',
      'jobs.read', 'lock.list', 'organisation.read-identity', 'organisation.read-users', 'person.identify', 'person.read-credentials', 'quarantine.identify', 'quarantine.list',
      'records.hold-names', 'records.read', 'storage.read', 'storage.read-vault', 'subject-access.read', 'subject-access.read-part', 'subject-access.read-received',
    ]);
    const every = [...Object.keys(CONTENT_ACTIONS), ...ORGANISATION_ACTIONS, ...ARRANGEMENT_ACTIONS, ...SUBJECT_ACCESS_ACTIONS, ...PERSON_ACTIONS, ...DESTRUCTION_ACTIONS, ...SYSTEM_ACTIONS].sort();
    expect(Object.keys(ACTION_EFFECTS).sort()).toEqual(every);
  });
});
