// The repository contract: what the services rely on from each repository, written once and run
// on every dialect. A new database adapter (or a change to a query) passes this suite or is wrong.
// Rows are created by unique factories, never truncated, so tests share one database per dialect.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AlreadyExistsError, DomainError } from '../../src/domain/errors.js';
import { defineJob } from '../../src/domain/jobs/define-job.js';
import type { Arrangement, Collection, Document, Organisation, User, Version } from '../../src/domain/types.js';
import type { Repos, Store } from '../../src/db/store.js';
import type { ResourceLock } from '../../src/db/repos/locks.repo.js';
import type { PendingAuditEvent } from '../../src/db/repos/audit.repo.js';
import type { UploadSlot } from '../../src/domain/repositories.js';
import { openTestStore, type TestStore } from '../support/store.js';
import { DIALECTS } from '../support/vault.js';

const id = () => randomUUID();
const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse('2026-11-01T09:00:00.000Z');

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (error: unknown) => error ?? new Error('rejected without a reason'));
}

describe.each(DIALECTS)('repository contract on %s', (dialect) => {
  let t: TestStore;
  let store: Store;
  let repos: Repos;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    store = t.store;
    repos = store.repos;
  });
  afterAll(async () => {
    await t?.remove();
  });

  // Factories: unique rows, every field set, so a round trip checks every column.
  async function organisation(patch: Partial<Organisation> = {}): Promise<Organisation> {
    const slug = `org-${randomBytes(5).toString('hex')}`;
    const org: Organisation = { id: id(), slug, name: `Council ${slug}`, kind: 'council', region: 'North', createdAt: iso(T0), ...patch };
    await repos.organisations.insert(org);
    return org;
  }
  async function user(organisationId: string, patch: Partial<User> = {}): Promise<User> {
    const u: User = {
      id: id(), organisationId, email: `${randomBytes(5).toString('hex')}@example.test`, name: 'Pat Example', roles: ['member'],
      teams: ['payroll'], clearance: 'OFFICIAL', mfaEnabled: false, disabled: false, disabledBy: null, createdAt: iso(T0), ...patch,
    };
    await repos.users.insert({ ...u, passwordHash: 'hash' });
    return u;
  }
  async function collection(organisationId: string, patch: Partial<Collection> = {}): Promise<Collection> {
    const c: Collection = {
      id: id(), organisationId, parentId: null, name: `c-${randomBytes(4).toString('hex')}`, serviceArea: 'payroll',
      classification: 'OFFICIAL', arrangementId: null, createdAt: iso(T0), deletedAt: null, ...patch,
    };
    await repos.collections.insert(c);
    return c;
  }
  function version(document: { id: string; organisationId: string }, number: number, patch: Partial<Version> = {}): Version {
    return {
      id: id(), documentId: document.id, organisationId: document.organisationId, number, size: 5_000_000_000 + number,
      sha256: randomBytes(32).toString('hex'), mediaType: 'text/csv', blobId: randomBytes(16).toString('hex'),
      wrappedKey: new Uint8Array(randomBytes(40)), keyId: id(), scanStatus: 'clean', scanDetail: null, scanEngine: 'clamd',
      scannedAt: iso(T0), authorId: null, createdAt: iso(T0 + number), sourceModifiedAt: iso(T0 - 86_400_000 + number), releaseReason: null, ...patch,
    };
  }
  async function document(c: Collection, patch: Partial<Document> = {}): Promise<{ document: Document; version: Version }> {
    const docId = id();
    const v = version({ id: docId, organisationId: c.organisationId }, 1);
    const d: Document = {
      id: docId, organisationId: c.organisationId, collectionId: c.id, name: `d-${randomBytes(4).toString('hex')}.csv`,
      classification: c.classification, serviceArea: c.serviceArea, status: 'available', currentVersion: 1, currentVersionId: v.id,
      size: v.size, sha256: v.sha256, mediaType: v.mediaType, sourceModifiedAt: v.sourceModifiedAt ?? null, arrangementId: null, copiedFromDocumentId: null,
      copiedViaArrangementId: null, createdAt: iso(T0), updatedAt: iso(T0), deletedAt: null, ...patch,
    };
    await store.transaction(async (r) => {
      await r.documents.insertDocument(d);
      await r.documents.insertVersion(v);
    });
    return { document: d, version: v };
  }
  function arrangement(host: string, partners: string[], patch: Partial<Arrangement> = {}): Arrangement {
    return {
      id: id(), hostOrganisationId: host, partnerOrganisationIds: [...partners].sort(), serviceArea: 'payroll', purpose: 'Shared payroll',
      lawfulBasis: 'Local Government Act 1972 s.101', agreementReference: 'REF-1', accessLevel: 'read', ceiling: 'OFFICIAL',
      startsAt: iso(T0), endsAt: null, annualSavingPounds: 12_500, status: 'draft', acceptedBy: [], revision: 1, termsRevision: 1,
      createdAt: iso(T0), updatedAt: iso(T0), ...patch,
    };
  }

  describe('organisations', () => {
    it('round-trips every field, finds by slug, and refuses a second organisation with the same slug', async () => {
      const org = await organisation();
      expect(await repos.organisations.byId(org.id)).toEqual(org);
      expect(await repos.organisations.bySlug(org.slug)).toEqual(org);
      expect(await repos.organisations.byId(id())).toBeUndefined();
      const error = await refusal(organisation({ slug: org.slug }));
      // The one constraint that means "already exists" is named (the service then answers as a later duplicate).
      expect(error).toBeInstanceOf(AlreadyExistsError);
      expect((error as AlreadyExistsError).code).toBe('CONFLICT');
      expect((await repos.organisations.list()).filter((o) => o.slug === org.slug)).toHaveLength(1);
    });

    it('lists by name', async () => {
      const names = ['Zeta', 'Alpha', 'Mu'].map((n) => `${n} ${randomBytes(3).toString('hex')}`);
      for (const name of names) await organisation({ name });
      const listed = (await repos.organisations.list()).map((o) => o.name).filter((n) => names.includes(n));
      expect(listed).toEqual([...names].sort());
    });

    it('keeps the current key apart from retired ones', async () => {
      const org = await organisation();
      expect(await repos.organisations.currentKey(org.id)).toBeUndefined();
      const first = { id: id(), organisationId: org.id, wrapped: randomBytes(60), createdAt: iso(T0) };
      const second = { id: id(), organisationId: org.id, wrapped: randomBytes(60), createdAt: iso(T0 + 1000) };
      await repos.organisations.insertKey(first);
      await repos.organisations.insertKey(second);
      await repos.organisations.retireKeys(org.id, second.id, iso(T0 + 2000));
      const current = await repos.organisations.currentKey(org.id);
      expect(current?.id).toBe(second.id);
      expect(Buffer.from(current!.wrapped).equals(second.wrapped)).toBe(true);
      // A retired key still opens the versions it wrapped.
      expect(Buffer.from((await repos.organisations.keyById(first.id))!.wrapped).equals(first.wrapped)).toBe(true);
    });
  });

  describe('text with a NUL character', () => {
    it('is refused as INVALID before the database sees it, in values and in lists', async () => {
      for (const attempt of [
        () => repos.organisations.byId('abc\u0000def'),
        () => repos.organisations.insert({ id: id(), slug: 'nul\u0000slug', name: 'x', kind: 'council', region: 'r', createdAt: iso(T0) }),
        () => repos.signInThrottles.failures(['ok', 'bad\u0000key'], iso(T0)),
        () => repos.settings.set('k', 'v\u0000'),
      ]) {
        const error = await refusal(attempt());
        expect(error).toBeInstanceOf(DomainError);
        expect((error as DomainError).code).toBe('INVALID');
      }
      expect(await repos.settings.get('k')).toBeUndefined();
    });

    it('stores other control characters and non-BMP text unchanged', async () => {
      const name = `tab\there\u0001\u{1F4C4} ‮rtl`;
      const org = await organisation({ name });
      expect((await repos.organisations.byId(org.id))?.name).toBe(name);
    });
  });

  describe('users and credentials', () => {
    it('round-trips, finds by e-mail case-insensitively, and refuses a duplicate e-mail', async () => {
      const org = await organisation();
      const u = await user(org.id, { roles: ['org_admin', 'auditor'], teams: ['hr', 'payroll'], clearance: 'OFFICIAL-SENSITIVE' });
      expect(await repos.users.byId(u.id)).toEqual(u);
      expect(await repos.users.byEmail(u.email.toUpperCase())).toEqual(u);
      expect(await refusal(user(org.id, { email: u.email }))).toBeInstanceOf(Error);
      await repos.users.update(u.id, { disabled: true, roles: ['member'] });
      expect(await repos.users.enableMfa(u.id, 'JBSWY3DPEHPK3PXP', '[]')).toBe(true);
      expect(await repos.users.byId(u.id)).toEqual({ ...u, disabled: true, disabledBy: 'admin', mfaEnabled: true, roles: ['member'] });
    });

    it('records who switched an account off, clears it when switched on, and lets the directory switch on only its own', async () => {
      const org = await organisation();
      const u = await user(org.id);
      const created = await user(org.id, { disabled: true, disabledBy: 'directory' });
      expect(await repos.users.byId(created.id)).toEqual(created);
      expect(await repos.users.enableIfDisabledBy(u.id, 'directory')).toBe(false);
      await repos.users.update(u.id, { disabled: true, disabledBy: 'directory' });
      expect((await repos.users.byId(u.id))!.disabledBy).toBe('directory');
      await repos.users.update(u.id, { disabled: true, disabledBy: 'admin' });
      expect(await repos.users.enableIfDisabledBy(u.id, 'directory')).toBe(false);
      expect(await repos.users.byId(u.id)).toEqual({ ...u, disabled: true, disabledBy: 'admin' });
      await repos.users.update(u.id, { disabled: false });
      expect(await repos.users.byId(u.id)).toEqual(u);
      await repos.users.update(u.id, { disabled: true, disabledBy: 'directory' });
      expect(await repos.users.enableIfDisabledBy(u.id, 'directory')).toBe(true);
      expect(await repos.users.byId(u.id)).toEqual(u);
      expect(await repos.users.enableIfDisabledBy(u.id, 'directory')).toBe(false);
    });

    it('accepts each TOTP step once, later steps only, even when two requests race', async () => {
      const u = await user((await organisation()).id);
      const raced = await Promise.all([repos.users.acceptTotpStep(u.id, 100), repos.users.acceptTotpStep(u.id, 100)]);
      expect(raced.filter(Boolean)).toHaveLength(1);
      expect(await repos.users.acceptTotpStep(u.id, 99)).toBe(false);
      expect(await repos.users.acceptTotpStep(u.id, 101)).toBe(true);
    });

    it('spends a recovery code once, even when two requests race', async () => {
      const u = await user((await organisation()).id);
      await repos.users.enableMfa(u.id, 'JBSWY3DPEHPK3PXP', JSON.stringify(['h1', 'h2', 'h3']));
      const [first, second, other] = await Promise.all([repos.users.spendRecoveryCode(u.id, 'h2'), repos.users.spendRecoveryCode(u.id, 'h2'), repos.users.spendRecoveryCode(u.id, 'h3')]);
      // Exactly one of the two spends of h2 wins (either may), and the race does not cost h3; each winner
      // learns how many codes its spend left (what the security notice tells), whichever of h2 and h3 went first.
      const won = [first, second].filter((left) => left !== null);
      expect(won).toHaveLength(1);
      expect([won[0], other].sort()).toEqual([1, 2]);
      expect(JSON.parse((await repos.users.signInState(u.id))!.recovery_codes!)).toEqual(['h1']);
      expect(await repos.users.spendRecoveryCode(u.id, 'nope')).toBeNull();
      expect(await repos.users.spendRecoveryCode(u.id, 'h1')).toBe(0);
      expect(await repos.users.spendRecoveryCode(u.id, 'h1')).toBeNull();
    });

    it('finds a credential by its secret hash and by its id, refuses a duplicate hash, and revokes once', async () => {
      const u = await user((await organisation()).id);
      const row = { id: id(), userId: u.id, kind: 'api_token' as const, name: 'laptop', scope: 'full' as const, createdAt: iso(T0), lastUsedAt: null, revokedAt: null, secretHash: randomBytes(32).toString('hex') };
      await repos.users.insertCredential(row);
      expect(await repos.users.credentialBySecretHash(row.secretHash)).toEqual({
        credential: { id: row.id, userId: u.id, kind: 'api_token', name: 'laptop', scope: 'full', createdAt: iso(T0), lastUsedAt: null, revokedAt: null },
        holder: await repos.users.byId(u.id),
        sealed: true,
      });
      expect((await repos.users.credentialBySecretHash(row.secretHash))?.holder).toEqual(u);
      expect(await repos.users.credentialBySecretHash(randomBytes(32).toString('hex'))).toBeUndefined();
      expect(await refusal(repos.users.insertCredential({ ...row, id: id() }))).toBeInstanceOf(Error);
      await repos.users.revokeCredential(row.id, iso(T0 + 1));
      await repos.users.revokeCredential(row.id, iso(T0 + 2));
      expect((await repos.users.listCredentials(u.id))[0]?.revokedAt).toBe(iso(T0 + 1));
      // By id (what an upload checks before it commits), revoked or not.
      expect(await repos.users.credentialById(row.id)).toEqual({ id: row.id, userId: u.id, kind: 'api_token', name: 'laptop', scope: 'full', createdAt: iso(T0), lastUsedAt: null, revokedAt: iso(T0 + 1) });
      expect(await repos.users.credentialById(id())).toBeUndefined();
    });
  });

  describe('collections', () => {
    it('lists live children by name, at the top and under a parent, and finds a live child by name', async () => {
      const org = await organisation();
      const b = await collection(org.id, { name: 'b' });
      const a = await collection(org.id, { name: 'a' });
      const gone = await collection(org.id, { name: 'aa' });
      await repos.collections.softDelete(gone.id, iso(T0 + 1));
      const child = await collection(org.id, { name: 'child', parentId: a.id });
      expect((await repos.collections.children(org.id, null)).map((c) => c.id)).toEqual([a.id, b.id]);
      expect((await repos.collections.children(org.id, a.id)).map((c) => c.id)).toEqual([child.id]);
      expect((await repos.collections.childByName(org.id, null, 'aa'))).toBeUndefined();
      expect((await repos.collections.childByName(org.id, a.id, 'child'))?.id).toBe(child.id);
      expect((await repos.collections.byId(gone.id))?.deletedAt).toBe(iso(T0 + 1));
      // Many at once: those that exist, deleted ones included; unknown ids are left out.
      expect((await repos.collections.byIds([a.id, gone.id, id()])).map((c) => c.id).sort()).toEqual([a.id, gone.id].sort());
      expect(await repos.collections.byIds([])).toEqual([]);
      // Another organisation's tree is not mixed in.
      await collection((await organisation()).id, { name: 'a' });
      expect((await repos.collections.children(org.id, null)).map((c) => c.id)).toEqual([a.id, b.id]);
    });

    it('rewrites place and derived facts in one call, and refuses a parent that does not exist', async () => {
      const org = await organisation();
      const top = await collection(org.id);
      const moved = await collection(org.id);
      await repos.collections.place(moved.id, { name: 'renamed', parentId: top.id, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE', arrangementId: null });
      expect(await repos.collections.byId(moved.id)).toEqual({ ...moved, name: 'renamed', parentId: top.id, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' });
      expect(await refusal(collection(org.id, { parentId: id() }))).toBeInstanceOf(Error);
    });
  });

  describe('documents and versions', () => {
    it('round-trips a document with its current version facts, sizes above 2^32 included', async () => {
      const c = await collection((await organisation()).id);
      const { document: d, version: v } = await document(c);
      expect(await repos.documents.byId(d.id)).toEqual(d);
      const stored = await repos.documents.version(d.id, 1);
      expect({ ...stored, wrappedKey: Buffer.from(stored!.wrappedKey) }).toEqual({ ...v, wrappedKey: Buffer.from(v.wrappedKey) });
      expect(await repos.documents.byName(c.id, d.name)).toEqual(d);
      expect(await repos.documents.byIds([d.id, id()])).toEqual([d]);
      expect(await repos.documents.byIds([])).toEqual([]);
    });

    it('refuses a second version with the same number, and a version of no document', async () => {
      const c = await collection((await organisation()).id);
      const { document: d } = await document(c);
      expect(await refusal(repos.documents.insertVersion(version(d, 1)))).toBeInstanceOf(Error);
      expect(await refusal(repos.documents.insertVersion(version({ id: id(), organisationId: d.organisationId }, 1)))).toBeInstanceOf(Error);
      expect(await repos.documents.versions(d.id)).toHaveLength(1);
    });

    it('moves the current version by compare-and-set: of two racing writers exactly one wins', async () => {
      const c = await collection((await organisation()).id);
      const { document: d } = await document(c);
      const [v2a, v2b] = [version(d, 2), version(d, 3)];
      await repos.documents.insertVersion(v2a);
      await repos.documents.insertVersion(v2b);
      const raced = await Promise.all([
        repos.documents.setCurrentVersion(d.id, 1, v2a, 'available', iso(T0 + 5)),
        repos.documents.setCurrentVersion(d.id, 1, v2b, 'available', iso(T0 + 5)),
      ]);
      expect(raced.filter(Boolean)).toHaveLength(1);
      const winner = raced[0] ? v2a : v2b;
      expect(await repos.documents.byId(d.id)).toMatchObject({ currentVersion: winner.number, currentVersionId: winner.id, sha256: winner.sha256 });
    });

    it('reads a document with its current version in one go, every field as byId and versionById give them', async () => {
      const c = await collection((await organisation()).id);
      const { document: d, version: v1 } = await document(c);
      const first = await repos.documents.withCurrentVersion(d.id);
      expect(first).toEqual({ document: await repos.documents.byId(d.id), version: await repos.documents.versionById(v1.id) });
      expect(first?.document).toEqual(d);
      expect({ ...first?.version, wrappedKey: Buffer.from(first!.version.wrappedKey) }).toEqual({ ...v1, wrappedKey: Buffer.from(v1.wrappedKey) });
      const v2 = { ...version(d, 2), sourceModifiedAt: null, scanStatus: 'pending' as const, scanDetail: null, scanEngine: null, scannedAt: null, authorId: null };
      await repos.documents.insertVersion(v2);
      expect(await repos.documents.setCurrentVersion(d.id, 1, v2, 'pending_scan', iso(T0 + 7))).toBe(true);
      const current = await repos.documents.withCurrentVersion(d.id);
      expect(current).toEqual({ document: await repos.documents.byId(d.id), version: await repos.documents.versionById(v2.id) });
      expect({ ...current?.version, wrappedKey: Buffer.from(current!.version.wrappedKey) }).toEqual({ ...v2, wrappedKey: Buffer.from(v2.wrappedKey) });
      expect(await repos.documents.withCurrentVersion(id())).toBeUndefined();
    });

    it('lists a collection by name with paging, leaving deleted documents out unless asked', async () => {
      const c = await collection((await organisation()).id);
      const docs = [];
      for (const name of ['c.txt', 'a.txt', 'b.txt', 'd.txt']) docs.push((await document(c, { name })).document);
      await repos.documents.update(docs[3]!.id, { deletedAt: iso(T0 + 9) }, iso(T0 + 9));
      expect((await repos.documents.inCollection(c.id)).map((d) => d.name)).toEqual(['a.txt', 'b.txt', 'c.txt']);
      expect((await repos.documents.inCollection(c.id, { after: 'a.txt', limit: 1 })).map((d) => d.name)).toEqual(['b.txt']);
      expect((await repos.documents.inCollection(c.id, { includeDeleted: true })).map((d) => d.name)).toEqual(['a.txt', 'b.txt', 'c.txt', 'd.txt']);
      expect(await repos.documents.byName(c.id, 'd.txt')).toBeUndefined();
    });

    it('orders documents sharing a name by id, and continues after a (name, id) without skipping or repeating one', async () => {
      const c = await collection((await organisation()).id);
      const docs = [];
      // Two binned before the third is written: a live name is its folder's only (the live-name index).
      for (const name of ['b.txt', 'b.txt', 'b.txt', 'a.txt', 'c.txt']) {
        const { document: d } = await document(c, { name });
        if (docs.length < 2) await repos.documents.update(d.id, { deletedAt: iso(T0 + 9) }, iso(T0 + 9));
        docs.push(d);
      }
      const order = [...docs].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.id < y.id ? -1 : 1)).map((d) => d.id);
      expect((await repos.documents.inCollection(c.id, { includeDeleted: true })).map((d) => d.id)).toEqual(order);
      const walked: string[] = [];
      for (let page = await repos.documents.inCollection(c.id, { includeDeleted: true, limit: 2 }); page.length > 0;) {
        walked.push(...page.map((d) => d.id));
        const last = page[page.length - 1]!;
        page = await repos.documents.inCollection(c.id, { includeDeleted: true, limit: 2, after: last.name, afterId: last.id });
      }
      expect(walked).toEqual(order);
      expect((await repos.documents.inCollection(c.id, { includeDeleted: true, after: 'b.txt' })).map((d) => d.name)).toEqual(['c.txt']);
    });

    it('finds versions by scan status, and destroys a version key for good', async () => {
      const org = await organisation();
      const { document: d, version: v } = await document(await collection(org.id));
      await repos.documents.updateVersionScan(v.id, { status: 'infected', detail: 'Eicar-Test-Signature', engine: 'clamd', at: iso(T0 + 1) });
      expect((await repos.documents.versionsByScanStatus(['infected'], org.id)).map((x) => x.id)).toEqual([v.id]);
      await repos.documents.destroyVersionKey(v.id);
      expect((await repos.documents.versionById(v.id))?.wrappedKey).toHaveLength(0);
      expect((await repos.documents.blobIds()).has(v.blobId)).toBe(true);
      expect(d.id).toBe(v.documentId);
    });

    it('keeps a release\'s reason apart from the scan detail, and leaves it as it was when a later verdict names none', async () => {
      const { document: d, version: v } = await document(await collection((await organisation()).id));
      await repos.documents.updateVersionScan(v.id, { status: 'released', detail: 'Eicar-Test-Signature — released after review by a security admin', engine: 'clamd', at: iso(T0 + 1), releaseReason: 'Checked with the sender by phone' });
      const released = await repos.documents.versionById(v.id);
      expect(released).toMatchObject({ scanStatus: 'released', scanDetail: 'Eicar-Test-Signature — released after review by a security admin', releaseReason: 'Checked with the sender by phone' });
      expect((await repos.documents.withCurrentVersion(d.id))?.version).toEqual(released);
      await repos.documents.updateVersionScan(v.id, { status: 'released', detail: 'later', engine: 'clamd', at: iso(T0 + 2) });
      expect((await repos.documents.versionById(v.id))?.releaseReason).toBe('Checked with the sender by phone');
    });
  });

  describe('arrangements', () => {
    it('round-trips parties and acceptances', async () => {
      const [host, p1, p2] = [await organisation(), await organisation(), await organisation()];
      const a = arrangement(host.id, [p1.id, p2.id], { acceptedBy: [p1.id] });
      await repos.arrangements.insert(a, null);
      expect(await repos.arrangements.byId(a.id)).toEqual(a);
      expect((await repos.arrangements.involving([p2.id])).map((x) => x.id)).toEqual([a.id]);
      expect((await repos.arrangements.involving([host.id])).map((x) => x.id)).toEqual([a.id]);
      expect(await repos.arrangements.involving([])).toEqual([]);
    });

    it('saves by compare-and-set on the revision: of two racing changes exactly one is stored', async () => {
      const [host, p1, p2, p3] = [await organisation(), await organisation(), await organisation(), await organisation()];
      const a = arrangement(host.id, [p1.id, p2.id]);
      await repos.arrangements.insert(a, null);
      const accept = { ...a, acceptedBy: [p1.id], revision: 2, updatedAt: iso(T0 + 1) };
      const amend = { ...a, partnerOrganisationIds: [p1.id, p3.id].sort(), purpose: 'Amended', revision: 2, termsRevision: 2, updatedAt: iso(T0 + 1) };
      const raced = await Promise.all([repos.arrangements.save(accept, 1, null), repos.arrangements.save(amend, 1, null)]);
      expect(raced.filter(Boolean)).toHaveLength(1);
      expect(await repos.arrangements.byId(a.id)).toEqual(raced[0] ? accept : amend);
      // A change decided on revision 1 is refused now that 2 is stored.
      expect(await repos.arrangements.save({ ...a, status: 'ended', revision: 2 }, 1, null)).toBe(false);
    });

    it('writes the party list exactly: partners added and removed, acceptances set and cleared', async () => {
      const [host, p1, p2, p3] = [await organisation(), await organisation(), await organisation(), await organisation()];
      const a = arrangement(host.id, [p1.id, p2.id], { acceptedBy: [p1.id, p2.id] });
      await repos.arrangements.insert(a, null);
      const next = { ...a, partnerOrganisationIds: [p2.id, p3.id].sort(), acceptedBy: [p3.id], revision: 2, updatedAt: iso(T0 + 1) };
      expect(await repos.arrangements.save(next, 1, null)).toBe(true);
      expect(await repos.arrangements.byId(a.id)).toEqual(next);
      expect(await repos.arrangements.involving([p1.id])).toEqual([]);
    });

    it('keeps every revision in order', async () => {
      const host = await organisation();
      const a = arrangement(host.id, []);
      await repos.arrangements.insert(a, null);
      for (const revision of [2, 1, 3]) await repos.arrangements.addRevision({ arrangementId: a.id, revision, change: `r${revision}`, snapshot: { ...a, revision }, changedBy: null, changedAt: iso(T0 + revision) });
      expect((await repos.arrangements.revisions(a.id)).map((r) => [r.revision, r.change, r.snapshot.revision])).toEqual([[1, 'r1', 1], [2, 'r2', 2], [3, 'r3', 3]]);
    });
  });

  describe('audit events', () => {
    function event(organisationId: string, action: string): PendingAuditEvent {
      return {
        time: iso(T0), actorUserId: null, actorOrganisationId: organisationId, action, targetOrganisationId: organisationId,
        targetIds: { documentId: id() }, decision: 'allow', reason: 'member', arrangementId: null, channel: 'api', clientAddress: '192.0.2.1', requestId: id(),
      };
    }

    it('returns unsequenced events in insert order and sequences each once', async () => {
      const org = await organisation();
      const mine = ['a', 'b', 'c'].map((x) => event(org.id, `test.${x}`));
      await repos.audit.insert(mine);
      let firstId = 0;
      await store.transaction(async (r) => {
        await r.audit.lockSequencer();
        const rows = await r.audit.unsequenced(10_000);
        const ours = rows.filter((row) => row.event.actorOrganisationId === org.id);
        expect(ours.map((row) => row.event.action)).toEqual(['test.a', 'test.b', 'test.c']);
        firstId = Number(ours[0]!.id);
        let seq = await r.audit.treeSize();
        for (const row of rows) await r.audit.assignSeq(Number(row.id), seq++, randomBytes(32));
        await r.audit.setTreeSize(seq);
      });
      const sequenced = await repos.audit.forOrganisation(org.id);
      expect(sequenced.map((e) => e.action)).toEqual(['test.a', 'test.b', 'test.c']);
      expect(sequenced[0]).toMatchObject({ ...mine[0], seq: sequenced[0]!.seq });
      // A second assignment does not move an event.
      await repos.audit.assignSeq(firstId, 999_999, randomBytes(32));
      expect((await repos.audit.forOrganisation(org.id)).map((e) => e.seq)).toEqual(sequenced.map((e) => e.seq));
      expect(await repos.audit.query({ organisationId: org.id, afterSeq: sequenced[0]!.seq, limit: 1 })).toEqual([sequenced[1]]);
    });
  });

  describe('jobs', () => {
    it('leases each due job to one of two racing workers, never to both, and not before it is due', async () => {
      const kind = `contract-${randomBytes(4).toString('hex')}`;
      const job = defineJob<{ i?: number; later?: boolean }>({ kind, payload: z.object({ i: z.number().optional(), later: z.boolean().optional() }), maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 1 });
      const now = iso(T0 + 60_000);
      for (let i = 0; i < 6; i++) await repos.jobs.enqueue(job, { i }, { now: new Date(T0), runAt: new Date(T0), organisationId: null });
      await repos.jobs.enqueue(job, { later: true }, { now: new Date(T0), runAt: new Date(T0 + 3_600_000), organisationId: null });
      const [a, b] = await Promise.all([repos.jobs.lease('background', now, iso(T0 + 120_000), 4), repos.jobs.lease('background', now, iso(T0 + 120_000), 4)]);
      const ours = [...a, ...b].filter((j) => j.kind === kind);
      expect(ours).toHaveLength(6);
      expect(new Set(ours.map((j) => j.id)).size).toBe(6);
      expect(ours.every((j) => j.attempts === 1 && j.maxAttempts === 3)).toBe(true);
      expect(ours.map((j) => (j.payload as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect((await repos.jobs.lease('background', now, iso(T0 + 120_000), 100)).filter((j) => j.kind === kind)).toEqual([]);

      // A lease that ran out is taken again (the worker died), with the attempt counted.
      const again = (await repos.jobs.lease('background', iso(T0 + 121_000), iso(T0 + 180_000), 100)).filter((j) => j.kind === kind);
      expect(again.map((j) => j.id).sort()).toEqual(ours.map((j) => j.id).sort());
      expect(again.every((j) => j.attempts === 2)).toBe(true);
      for (const leased of again) await repos.jobs.complete(leased.id, leased.attempts, iso(T0 + 122_000));
      expect((await repos.jobs.lease('background', iso(T0 + 200_000), iso(T0 + 300_000), 100)).filter((j) => j.kind === kind)).toEqual([]);
    });

    it('lists dead-lettered jobs newest first, counts the queue by state, and requeues a failed job once with its attempts reset', async () => {
      const kind = `dead-${randomBytes(4).toString('hex')}`;
      const job = defineJob<{ n: number }>({ kind, payload: z.object({ n: z.number() }), maxAttempts: 2, backoffSeconds: 1, maxBackoffSeconds: 1, uniqueKey: (p) => `${kind}:${p.n}` });
      const before = await repos.jobs.counts();
      for (const n of [1, 2, 3]) await repos.jobs.enqueue(job, { n }, { now: new Date(T0), runAt: new Date(T0), organisationId: null });
      const leased = (await repos.jobs.lease('background', iso(T0 + 1_000), iso(T0 + 60_000), 100)).filter((j) => j.kind === kind).sort((a, b) => a.id - b.id);
      expect(leased).toHaveLength(3);
      const [first, second, third] = leased as [typeof leased[0], typeof leased[0], typeof leased[0]];
      expect(await repos.jobs.fail(first.id, first.attempts, iso(T0 + 2_000), 'first\nbroke')).toBe(true);
      expect(await repos.jobs.fail(second.id, second.attempts, iso(T0 + 3_000), 'second broke')).toBe(true);
      expect(await repos.jobs.counts()).toEqual({ queued: before.queued, running: before.running + 1, failed: before.failed + 2 });

      const failed = (await repos.jobs.failed(1000)).filter((j) => j.kind === kind);
      expect(failed).toEqual([
        { id: second.id, kind, payload: JSON.stringify({ n: 2 }), attempts: 1, lastError: 'second broke', finishedAt: iso(T0 + 3_000) },
        { id: first.id, kind, payload: JSON.stringify({ n: 1 }), attempts: 1, lastError: 'first\nbroke', finishedAt: iso(T0 + 2_000) },
      ]);
      expect(await repos.jobs.failed(1)).toHaveLength(1);

      // Only a failed job is requeued: not a running one, not an unknown id, and not the same one twice.
      expect(await repos.jobs.requeueFailed(third.id, iso(T0 + 4_000))).toBe('not_failed');
      expect(await repos.jobs.requeueFailed(2_000_000_000, iso(T0 + 4_000))).toBe('not_failed');
      expect(await repos.jobs.requeueFailed(first.id, iso(T0 + 4_000))).toBe('requeued');
      expect(await repos.jobs.requeueFailed(first.id, iso(T0 + 4_000))).toBe('not_failed');
      expect(await repos.jobs.counts()).toEqual({ queued: before.queued + 1, running: before.running + 1, failed: before.failed + 1 });
      expect((await repos.jobs.failed(1000)).filter((j) => j.kind === kind).map((j) => j.id)).toEqual([second.id]);
      // Not before runAt; then it leases as a fresh first attempt.
      expect((await repos.jobs.lease('background', iso(T0 + 3_500), iso(T0 + 60_000), 100)).filter((j) => j.kind === kind)).toEqual([]);
      const again = (await repos.jobs.lease('background', iso(T0 + 4_000), iso(T0 + 60_000), 100)).filter((j) => j.kind === kind);
      expect(again).toEqual([{ id: first.id, kind, payload: { n: 1 }, attempts: 1, maxAttempts: 2 }]);

      // While a live job holds the same unique key, the dead letter stays failed: the work is already queued.
      expect(await repos.jobs.enqueue(job, { n: 2 }, { now: new Date(T0), runAt: new Date(T0), organisationId: null })).toBe(true);
      expect(await repos.jobs.requeueFailed(second.id, iso(T0 + 5_000))).toBe('duplicate_live');
      expect((await repos.jobs.failed(1000)).filter((j) => j.kind === kind).map((j) => j.id)).toEqual([second.id]);

      // Leave nothing of this kind live for the other tests sharing the database.
      const rest = (await repos.jobs.lease('background', iso(T0 + 6_000), iso(T0 + 60_000), 100)).filter((j) => j.kind === kind);
      for (const j of [third, ...again, ...rest]) expect(await repos.jobs.complete(j.id, j.attempts, iso(T0 + 7_000))).toBe(true);
    });
  });

  describe('locks', () => {
    it('lists live locks by creation, forgets expired ones, and deletes a token once', async () => {
      const org = await organisation();
      const holder = await user(org.id);
      const c = await collection(org.id);
      const lock = (patch: Partial<ResourceLock>): ResourceLock => ({
        token: `opaquelocktoken:${id()}`, organisationId: org.id, documentId: null, collectionId: c.id, depth: 'infinity', scope: 'exclusive',
        userId: holder.id, owner: '<D:href>me</D:href>', rootPath: '/dav/x', timeoutSeconds: 600, expiresAt: iso(T0 + 600_000), createdAt: iso(T0), ...patch,
      });
      const second = lock({ createdAt: iso(T0 + 2) });
      const first = lock({ createdAt: iso(T0 + 1) });
      const expired = lock({ expiresAt: iso(T0 + 5) });
      for (const l of [second, first, expired]) await repos.locks.insert(l);
      expect(await refusal(repos.locks.insert({ ...first }))).toBeInstanceOf(Error);
      expect(await repos.locks.liveInOrganisation(org.id, iso(T0 + 10))).toEqual([first, second]);
      await repos.locks.refresh(first.token, 60, iso(T0 + 8));
      expect((await repos.locks.liveInOrganisation(org.id, iso(T0 + 10))).map((l) => l.token)).toEqual([second.token]);
      await repos.locks.deleteExpired(iso(T0 + 10));
      expect(await repos.locks.byToken(expired.token)).toBeUndefined();
      expect(await repos.locks.delete(second.token)).toBe(true);
      expect(await repos.locks.delete(second.token)).toBe(false);
    });
  });

  describe('sessions', () => {
    it('stores a session by hash, moves its stage, and ends all of a user’s sessions', async () => {
      const u = await user((await organisation()).id);
      const s = { idHash: randomBytes(32).toString('hex'), userId: u.id, csrfToken: 'csrf', stage: 'mfa', createdAt: iso(T0), lastSeenAt: iso(T0), expiresAt: iso(T0 + 1000), providerMfa: false };
      const other = { ...s, idHash: randomBytes(32).toString('hex'), providerMfa: true };
      await repos.sessions.insert(s);
      await repos.sessions.insert(other);
      await repos.sessions.setStage(s.idHash, 'active');
      await repos.sessions.touch(s.idHash, iso(T0 + 5));
      expect(await repos.sessions.byHash(s.idHash)).toEqual({ ...s, stage: 'active', lastSeenAt: iso(T0 + 5) });
      expect(await repos.sessions.byHash(other.idHash)).toEqual(other);
      // Only the provider-MFA sessions of the organisation's people end.
      const elsewhere = await user((await organisation()).id);
      const theirs = { ...other, idHash: randomBytes(32).toString('hex'), userId: elsewhere.id };
      await repos.sessions.insert(theirs);
      expect(await repos.sessions.deleteProviderMfaIn(u.organisationId)).toBe(1);
      expect(await repos.sessions.byHash(other.idHash)).toBeUndefined();
      expect(await repos.sessions.byHash(s.idHash)).toBeDefined();
      expect(await repos.sessions.byHash(theirs.idHash)).toEqual(theirs);
      await repos.sessions.insert(other);
      expect(await refusal(repos.sessions.insert(s))).toBeInstanceOf(Error);
      await repos.sessions.deleteForUser(u.id);
      expect(await repos.sessions.byHash(s.idHash)).toBeUndefined();
      expect(await repos.sessions.byHash(other.idHash)).toBeUndefined();
    });
  });

  describe('sign-in throttles', () => {
    it('gives each of many racing attempts its own place, and starts afresh when the window ends', async () => {
      const key = `user:${id()}`;
      const now = iso(T0);
      const places = await Promise.all(Array.from({ length: 12 }, () => repos.signInThrottles.takePlace(key, now, iso(T0 + 60_000))));
      expect(places.map((p) => p.place).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(new Set(places.map((p) => p.windowEndsAt))).toEqual(new Set([iso(T0 + 60_000)]));
      expect((await repos.signInThrottles.failures([key, 'unknown'], now))).toEqual(new Map([[key, 12], ['unknown', 0]]));
      await repos.signInThrottles.givePlaceBack(places[0]!);
      expect((await repos.signInThrottles.failures([key], now)).get(key)).toBe(11);
      expect((await repos.signInThrottles.failures([key], iso(T0 + 60_000))).get(key)).toBe(0);
      const fresh = await repos.signInThrottles.takePlace(key, iso(T0 + 61_000), iso(T0 + 121_000));
      expect(fresh).toEqual({ key, place: 1, windowEndsAt: iso(T0 + 121_000) });
      // A place from the ended window is not given back out of the new one.
      await repos.signInThrottles.givePlaceBack(places[1]!);
      expect((await repos.signInThrottles.failures([key], iso(T0 + 61_000))).get(key)).toBe(1);
      expect(await repos.signInThrottles.sweep(iso(T0 + 121_000))).toBe(1);
      expect((await repos.signInThrottles.failures([key], iso(T0 + 61_000))).get(key)).toBe(0);
    });
  });

  describe('upload slots', () => {
    const slot = (patch: Partial<UploadSlot> = {}): UploadSlot => ({
      id: id(), holder: `process-${id()}`, accountId: id(), clientAddress: '192.0.2.44', organisationId: id(),
      acquiredAt: iso(T0), expiresAt: iso(T0 + 60_000), ...patch,
    });

    it('counts live slots at each level for the given keys, a null key counting nothing, and lists them oldest first', async () => {
      const organisationId = id();
      const accountId = id();
      const mine = slot({ accountId, organisationId, clientAddress: '192.0.2.45' });
      const colleague = slot({ organisationId, clientAddress: '192.0.2.45', acquiredAt: iso(T0 + 1) });
      const lapsed = slot({ accountId, organisationId, clientAddress: '192.0.2.45', expiresAt: iso(T0 + 10_000) });
      const elsewhere = slot({ acquiredAt: iso(T0 + 2) });
      // A slot with no account and no address: a null key must not count it either.
      const unnamed = slot({ accountId: null, clientAddress: null, acquiredAt: iso(T0 + 3) });
      for (const s of [mine, colleague, lapsed, elsewhere, unnamed]) await repos.uploadSlots.insert(s);
      const at = iso(T0 + 10_000); // `lapsed` ends exactly now: no longer live
      const before = await repos.uploadSlots.liveCounts({ accountId: null, clientAddress: null, organisationId: id() }, at);
      expect(await repos.uploadSlots.liveCounts({ accountId, clientAddress: '192.0.2.45', organisationId }, at)).toEqual({ account: 1, client: 2, organisation: 2, total: before.total });
      expect(before).toMatchObject({ account: 0, client: 0, organisation: 0 });
      expect(before.total).toBeGreaterThanOrEqual(4);
      const live = (await repos.uploadSlots.live(at)).filter((s) => [mine.id, colleague.id, lapsed.id, elsewhere.id, unnamed.id].includes(s.id));
      expect(live).toEqual([mine, colleague, elsewhere, unnamed]);
      for (const s of [mine, colleague, elsewhere, unnamed]) await repos.uploadSlots.delete(s.id);
    });

    it('renews a held slot, deletes it once, and sweeps only slots whose lease has ended', async () => {
      const held = slot({ expiresAt: iso(T0 + 5_000) });
      const lapsed = slot({ expiresAt: iso(T0 + 4_000) });
      await repos.uploadSlots.insert(held);
      await repos.uploadSlots.insert(lapsed);
      expect(await repos.uploadSlots.renew(held.id, iso(T0 + 65_000))).toBe(true);
      expect(await repos.uploadSlots.renew(id(), iso(T0 + 65_000))).toBe(false);
      const remaining = async () => (await repos.uploadSlots.live(iso(T0))).map((s) => s.id).filter((x) => x === held.id || x === lapsed.id).sort();
      expect(await repos.uploadSlots.deleteExpired(iso(T0 + 5_000))).toBeGreaterThanOrEqual(1);
      expect(await remaining()).toEqual([held.id]);
      expect((await repos.uploadSlots.live(iso(T0 + 64_999))).find((s) => s.id === held.id)?.expiresAt).toBe(iso(T0 + 65_000));
      expect(await repos.uploadSlots.delete(held.id)).toBe(true);
      expect(await repos.uploadSlots.delete(held.id)).toBe(false);
      expect(await repos.uploadSlots.renew(held.id, iso(T0 + 99_000))).toBe(false);
      expect(await remaining()).toEqual([]);
    });

    it('takes the admission lock inside a transaction and refuses a second slot with the same id', async () => {
      const s = slot();
      await store.transaction(async (r) => {
        await r.uploadSlots.lockAdmission();
        await r.uploadSlots.insert(s);
      });
      expect(await refusal(repos.uploadSlots.insert(s))).toBeInstanceOf(Error);
      expect(await repos.uploadSlots.delete(s.id)).toBe(true);
    });
  });

  describe('blob replicas (the offsite replica ledger)', () => {
    it('counts live versions the replica does not hold as lag, and stops counting them once copied or destroyed', async () => {
      const c = await collection((await organisation()).id);
      const before = await repos.replicas.lag();
      const a = await document(c);
      const b = await document(c);
      const lag = await repos.replicas.lag();
      expect(lag.pending).toBe(before.pending + 2);
      expect(lag.oldestCommittedAt! <= a.version.createdAt).toBe(true);
      await repos.replicas.markReplicated(a.version.blobId, a.version.id, iso(T0));
      await repos.replicas.markReplicated(a.version.blobId, a.version.id, iso(T0 + 1)); // idempotent
      expect((await repos.replicas.lag()).pending).toBe(before.pending + 1);
      await repos.documents.destroyVersionKey(b.version.id);
      expect((await repos.replicas.lag()).pending).toBe(before.pending);
      // A deleted replica copy is lag no more (the version is destroyed); a refused delete keeps the copy on record.
      await repos.replicas.markDeleted(a.version.blobId, a.version.id, iso(T0 + 2), 'AccessDenied: object locked');
      const refused = await store.db.selectFrom('blob_replicas').selectAll().where('blob_id', '=', a.version.blobId).executeTakeFirstOrThrow();
      expect(refused).toMatchObject({ replicated_at: iso(T0 + 1), delete_refused: 'AccessDenied: object locked', deleted_at: null });
      await repos.replicas.markDeleted(a.version.blobId, a.version.id, iso(T0 + 3), null);
      expect(await store.db.selectFrom('blob_replicas').selectAll().where('blob_id', '=', a.version.blobId).executeTakeFirstOrThrow())
        .toMatchObject({ replicated_at: null, deleted_at: iso(T0 + 3), delete_refused: null });
    });

    it('records a version unrecoverable once, counts it while its key lives, and clears it', async () => {
      const c = await collection((await organisation()).id);
      const before = await repos.replicas.unrecoverable();
      const { version: v } = await document(c);
      expect(await repos.replicas.markUnrecoverable(v.blobId, v.id, iso(T0))).toBe(true);
      expect(await repos.replicas.markUnrecoverable(v.blobId, v.id, iso(T0 + 1))).toBe(false);
      expect(await repos.replicas.unrecoverable()).toBe(before + 1);
      await repos.replicas.clearUnrecoverable(v.blobId);
      expect(await repos.replicas.unrecoverable()).toBe(before);
      expect(await repos.replicas.markUnrecoverable(v.blobId, v.id, iso(T0 + 2))).toBe(true);
      await repos.documents.destroyVersionKey(v.id);
      expect(await repos.replicas.unrecoverable()).toBe(before);
    });

    it('lists live versions in id order by pages, or a random sample, never a destroyed one', async () => {
      const c = await collection((await organisation()).id);
      const made = [await document(c), await document(c), await document(c)];
      await repos.documents.destroyVersionKey(made[1]!.version.id);
      const all: string[] = [];
      let afterId = '';
      for (;;) {
        const page = await repos.replicas.liveVersions({ limit: 2, afterId });
        all.push(...page.map((v) => v.id));
        if (page.length < 2) break;
        afterId = page.at(-1)!.id;
      }
      expect(all).toEqual([...all].sort());
      expect(all).toContain(made[0]!.version.id);
      expect(all).toContain(made[2]!.version.id);
      expect(all).not.toContain(made[1]!.version.id);
      const sample = await repos.replicas.liveVersions({ limit: 2, random: true });
      expect(sample).toHaveLength(2);
      expect(new Set(sample.map((v) => v.id)).size).toBe(2);
      for (const v of sample) expect(v.wrappedKey.length).toBeGreaterThan(0);
      // Asked for more than there are: every live version, once.
      const everyOne = await repos.replicas.liveVersions({ limit: all.length + 5, random: true });
      expect(everyOne.map((v) => v.id).sort()).toEqual(all);
    });
  });

  describe('notifications, settings and dead properties', () => {
    it('lists the series set on a collection, below it and on the documents in them, not those above or beside it', async () => {
      const org = await organisation();
      const top = await collection(org.id);
      const folder = await collection(org.id, { parentId: top.id });
      const child = await collection(org.id, { parentId: folder.id });
      const grandchild = await collection(org.id, { parentId: child.id });
      const beside = await collection(org.id, { parentId: top.id });
      await repos.retention.setCollectionSeries(top.id, 'TOP-01');
      await repos.retention.setCollectionSeries(beside.id, 'BES-01');
      await repos.retention.setCollectionSeries(folder.id, 'HR-01');
      await repos.retention.setCollectionSeries(grandchild.id, 'HR-02');
      const { document: doc } = await document(child);
      await repos.retention.setDocumentSeries(doc.id, 'HR-03');
      await document(grandchild);
      expect(await repos.retention.seriesSetBelow(folder.id)).toEqual(['HR-01', 'HR-02', 'HR-03']);
      expect(await repos.retention.seriesSetBelow(child.id)).toEqual(['HR-02', 'HR-03']);
      expect(await repos.retention.seriesSetBelow((await collection(org.id)).id)).toEqual([]);
    });

    it('gives a user’s notifications newest first, up to the limit', async () => {
      const org = await organisation();
      const u = await user(org.id);
      for (const n of [1, 3, 2]) {
        await repos.notifications.insert({ id: id(), userId: u.id, organisationId: org.id, kind: 'quarantine', documentId: null, versionId: null, message: `m${n}`, createdAt: iso(T0 + n), readAt: null });
      }
      expect((await repos.notifications.forUser(u.id, 2)).map((n) => n.message)).toEqual(['m3', 'm2']);
    });

    it('sets a setting twice and reads the last value', async () => {
      const key = `contract.${id()}`;
      expect(await repos.settings.get(key)).toBeUndefined();
      await repos.settings.set(key, 'one');
      await repos.settings.set(key, 'two');
      expect(await repos.settings.get(key)).toBe('two');
    });

    it('replaces a dead property and copies them to another document', async () => {
      const c = await collection((await organisation()).id);
      const [{ document: a }, { document: b }] = [await document(c), await document(c)];
      await repos.dav.setProperty(a.id, 'urn:x', 'colour', 'red');
      await repos.dav.setProperty(a.id, 'urn:x', 'colour', 'blue');
      await repos.dav.setProperty(b.id, 'urn:x', 'stale', 'gone');
      await repos.dav.copyProperties(a.id, b.id);
      expect(await repos.dav.properties(b.id)).toEqual([{ namespace: 'urn:x', name: 'colour', value: 'blue' }]);
      await repos.dav.removeProperty(a.id, 'urn:x', 'colour');
      expect(await repos.dav.properties(a.id)).toEqual([]);
    });
  });
  describe('disposal', () => {
    it('lists expired bin documents oldest deletion first, never live or disposed ones, and the holds each was last excluded by', async () => {
      const org = await organisation();
      const c = await collection(org.id);
      const { document: older } = await document(c, { deletedAt: iso(T0 - 5_000) });
      const { document: newer } = await document(c, { deletedAt: iso(T0 - 1_000) });
      await document(c, { deletedAt: iso(T0 + 1_000) });
      await document(c);
      await document(c, { deletedAt: iso(T0 - 9_000), status: 'disposed' });
      expect(await repos.disposal.binExpired(org.id, iso(T0), 10)).toEqual([older.id, newer.id]);
      expect(await repos.disposal.binExpired(org.id, iso(T0), 1)).toEqual([older.id]);
      // A disposed document is in no listing, the bin included.
      expect((await repos.documents.inCollection(c.id, { includeDeleted: true })).map((d) => d.status)).not.toContain('disposed');
      expect((await repos.documents.inCollection(c.id, { includeDeleted: true }))).toHaveLength(4);

      const item = (batchId: string, documentId: string, excludedBy: { id: string; name: string }[]) => ({
        batchId, documentId, seriesCode: 'HR-03', trigger: 'process_complete', triggerDate: '2024-01-01', dueAt: '2025-01-01', action: 'destroy' as const,
        excludedBy, decision: 'pending' as const, decidedBy: null, decidedAt: null, extendTo: null, reason: null, outcome: null, executedAt: null,
      });
      const batch = (n: number) => ({
        id: id(), organisationId: org.id, status: 'executed' as const, dueBy: '2026-01-01', createdAt: iso(T0 + n), createdBy: null,
        approvedAt: null, approvedBy: null, executedAt: null, certificateId: null,
      });
      const [first, second] = [batch(1), batch(2)];
      await repos.disposal.insertBatch(first, [item(first.id, older.id, [{ id: 'h2', name: 'B' }, { id: 'h1', name: 'A' }]), item(first.id, newer.id, [{ id: 'h1', name: 'A' }])]);
      await repos.disposal.insertBatch(second, [item(second.id, newer.id, [])]);
      const shown = await repos.disposal.lastExclusions(org.id, [older.id, newer.id, id()]);
      expect(Object.fromEntries(shown)).toEqual({ [older.id]: 'h1,h2', [newer.id]: '' });
    });
  });

  describe('legal holds', () => {
    it('finds active holds over documents directly and through any collection above, past a thousand ids, and forgets released ones', async () => {
      const org = await organisation();
      const top = await collection(org.id);
      const inner = await collection(org.id, { parentId: top.id });
      const { document: deep } = await document(inner);
      const { document: loose } = await document(top);
      const hold = { id: id(), organisationId: org.id, name: 'Smith v Council', reason: 'Tribunal claim', reference: null, createdBy: null, createdAt: iso(T0), releasedAt: null, releasedBy: null, releaseReason: null };
      await repos.holds.insert(hold);
      await repos.holds.addItem({ id: id(), holdId: hold.id, organisationId: org.id, documentId: null, collectionId: inner.id, addedBy: null, addedAt: iso(T0) });
      // Unknown ids are simply absent; a folder's worth of ids is read in parts, under the drivers' parameter limits.
      const many = [...Array.from({ length: 1200 }, () => id()), deep.id, loose.id];
      expect([...(await repos.holds.activeForDocuments(many))]).toEqual([[deep.id, [{ id: hold.id, name: 'Smith v Council' }]]]);
      expect([...(await repos.holds.activeForCollections([top.id, inner.id]))]).toEqual([[inner.id, [{ id: hold.id, name: 'Smith v Council' }]]]);
      expect(await repos.holds.release(hold.id, { at: iso(T0 + 1), by: null, reason: 'Claim withdrawn' })).toBe(true);
      expect(await repos.holds.release(hold.id, { at: iso(T0 + 2), by: null, reason: 'Claim withdrawn' })).toBe(false);
      expect((await repos.holds.activeForDocuments([deep.id])).size).toBe(0);
      expect(await repos.holds.byId(hold.id)).toMatchObject({ releasedAt: iso(T0 + 1), releaseReason: 'Claim withdrawn' });
    });

    it('orders placing a hold on a collection against destroying a document below it: the destroyer waits for the placer', async () => {
      const org = await organisation();
      const top = await collection(org.id);
      const inner = await collection(org.id, { parentId: top.id });
      const { document: deep } = await document(inner);
      const order: string[] = [];
      let destroying: Promise<void> | undefined;
      await store.transaction(async (r) => {
        await r.holds.lockForPlacing({ documentIds: [], collectionIds: [top.id] });
        destroying = store.transaction(async (d) => {
          await d.holds.lockForDestroying(deep.id);
          order.push('destroyer locked');
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        order.push('placer committing');
      });
      await destroying;
      // SQLite runs one transaction at a time, so the order is the same there.
      expect(order).toEqual(['placer committing', 'destroyer locked']);
      // Locking what does not exist is harmless.
      await store.transaction(async (r) => {
        await r.holds.lockForPlacing({ documentIds: [id()], collectionIds: [id()] });
        await r.holds.lockForDestroying(id());
      });
    });
  });
});
