import { describe, expect, it } from 'vitest';
import type { SubjectAccessItem, SubjectAccessPart, SubjectAccessRequest } from '../records/subject-access.js';
import { unrecordedSubjectAccessRow } from './subject-access-record.js';

const event = (action: string, organisationId: string | null, actor: string | null, ids: Record<string, string>, decision: 'allow' | 'deny' = 'allow') =>
  ({ action, decision, targetOrganisationId: organisationId, actorUserId: actor, targetIds: { requestId: 'r1', ...ids } });

const AT = '2026-11-02T10:00:00.000Z';
const request = (over: Partial<SubjectAccessRequest> = {}): SubjectAccessRequest => ({
  id: 'r1', organisationId: 'north', reference: 'SAR-1', subjectName: 'Sam Smith', subjectDetails: '', receivedOn: '2026-10-31', dueOn: '2026-11-30',
  extendedDueOn: null, extensionReason: null, status: 'open', outcome: null, closeNote: null, openedBy: 'dpo', openedAt: AT, closedBy: null, closedAt: null, ...over,
});
const part = (organisationId: string, over: Partial<SubjectAccessPart> = {}): SubjectAccessPart => ({
  requestId: 'r1', organisationId, askedBy: 'dpo', askedAt: AT, holdId: null, searchedAt: null, searchedBy: null, ...over,
});
const item = (over: Partial<SubjectAccessItem> = {}): SubjectAccessItem => ({
  id: 'i1', requestId: 'r1', organisationId: 'south', documentId: 'd1', versionId: 'v1', addedBy: 'southDpo', addedAt: AT, removedBy: null, removedAt: null, ...over,
});

/** North opened r1 and asked south; south's DPO put d1 in under hold h1 and took it out; the request was extended and closed. */
const EVENTS = [
  event('subject-access.open', 'north', 'dpo', { dueOn: '2026-11-30' }),
  event('subject-access.ask', 'south', 'dpo', {}),
  event('records.hold.create', 'south', 'southDpo', { holdId: 'h1' }),
  event('subject-access.add', 'south', 'southDpo', { itemId: 'i1', documentId: 'd1', versionId: 'v1' }),
  event('subject-access.remove', 'south', 'southDpo', { itemId: 'i1', documentId: 'd1' }),
  event('subject-access.extend', 'north', 'dpo', { dueOn: '2027-02-01' }),
  event('subject-access.close', 'north', 'dpo', { outcome: 'nothing-held' }),
];
const ROWS = {
  requests: [request({ extendedDueOn: '2027-02-01', extensionReason: 'Many systems to search', status: 'closed', outcome: 'nothing-held', closedBy: 'dpo', closedAt: AT })],
  parts: [part('north'), part('south', { holdId: 'h1' })],
  items: [item({ removedBy: 'southDpo', removedAt: AT })],
};
const DIRECT = 'it was changed in the database directly, not by Strongroom.';
const check = (rows: Partial<typeof ROWS>, events = EVENTS, earlier?: typeof EVENTS) => unrecordedSubjectAccessRow({ ...ROWS, ...rows }, events, earlier);

describe('subject-access-record', () => {
  it('vouches for rows every step of which the log records, and for none at all', () => {
    expect(check({})).toBeNull();
    expect(unrecordedSubjectAccessRow({ requests: [], parts: [], items: [] }, [])).toBeNull();
    // Open, nothing more: the requester's own part comes with the opening.
    expect(unrecordedSubjectAccessRow({ requests: [request()], parts: [part('north')], items: [] }, EVENTS.slice(0, 1))).toBeNull();
  });

  it('names a request nobody opened, or opened by another organisation or person, or due on another day', () => {
    expect(check({}, EVENTS.slice(1))).toBe(`Subject access request r1 (organisation north) matches no recorded opening: ${DIRECT}`);
    expect(check({}, [{ ...EVENTS[0]!, decision: 'deny' as const }, ...EVENTS.slice(1)])).toContain('matches no recorded opening');
    expect(check({ requests: [{ ...ROWS.requests[0]!, organisationId: 'west' }] })).toBe(`Subject access request r1 is organisation west's, but the audit log records it opened by organisation north: ${DIRECT}`);
    expect(check({ requests: [{ ...ROWS.requests[0]!, openedBy: 'mallory' }] })).toBe(`Subject access request r1 says person mallory opened it, but the audit log records person dpo: ${DIRECT}`);
    expect(check({ requests: [{ ...ROWS.requests[0]!, dueOn: '2027-06-30' }] })).toBe(`Subject access request r1 is due on 2027-06-30, but the audit log records it opened due on 2026-11-30: ${DIRECT}`);
  });

  it('names an extension no event records, one to another date, and a recorded one undone', () => {
    const noExtend = EVENTS.filter((e) => e.action !== 'subject-access.extend');
    expect(check({}, noExtend)).toBe(`Subject access request r1 is marked extended to 2027-02-01, which no audit event records: ${DIRECT}`);
    expect(check({ requests: [{ ...ROWS.requests[0]!, extendedDueOn: '2027-12-31' }] })).toBe(`Subject access request r1 is extended to 2027-12-31, but the audit log records it extended to 2027-02-01: ${DIRECT}`);
    expect(check({ requests: [{ ...ROWS.requests[0]!, extendedDueOn: null }] })).toBe(`Subject access request r1 was extended to 2027-02-01 (the audit log records it) but its row says it is not: ${DIRECT}`);
    // An extension committed after the rows were read, before the events were: not missing from the row.
    expect(check({ requests: [{ ...ROWS.requests[0]!, extendedDueOn: null }] }, EVENTS, noExtend)).toBeNull();
  });

  it('names a closing no event records, by another person or with another outcome, and a recorded one undone', () => {
    const noClose = EVENTS.filter((e) => e.action !== 'subject-access.close');
    expect(check({}, noClose)).toBe(`Subject access request r1 is marked closed (nothing-held), which no audit event records: ${DIRECT}`);
    expect(check({ requests: [{ ...ROWS.requests[0]!, closedBy: 'mallory' }] })).toBe(`Subject access request r1 says person mallory closed it, but the audit log records person dpo: ${DIRECT}`);
    expect(check({ requests: [{ ...ROWS.requests[0]!, outcome: 'refused' }] })).toBe(`Subject access request r1 is closed as refused, but the audit log records it closed as nothing-held: ${DIRECT}`);
    const reopened = { ...ROWS.requests[0]!, status: 'open' as const, outcome: null, closedBy: null, closedAt: null };
    expect(check({ requests: [reopened] })).toBe(`Subject access request r1 was closed as nothing-held (the audit log records it) but its row says it is open: ${DIRECT}`);
    expect(check({ requests: [reopened] }, EVENTS, noClose)).toBeNull();
    expect(check({ requests: [{ ...reopened, outcome: 'disclosed' }] }, noClose)).toBe(`Subject access request r1 is open but its row gives an outcome (disclosed), which no audit event records: ${DIRECT}`);
  });

  it('names a part no one asked for, and one naming a hold not placed for it', () => {
    expect(check({ parts: [...ROWS.parts, part('west')] })).toBe(`Organisation west's part in subject access request r1 matches no recorded asking: ${DIRECT}`);
    expect(check({ parts: [part('north'), part('south', { holdId: 'h9' })] })).toBe(`Organisation south's part in subject access request r1 names legal hold h9, which the audit log does not record placed for it: ${DIRECT}`);
    expect(check({ parts: [part('north', { holdId: 'h1' }), part('south', { holdId: 'h1' })] })).toContain('Organisation north\'s part in subject access request r1 names legal hold h1');
  });

  it('names an item no event added as it is, one removed without an event, and one put back', () => {
    const noInclusion = 'matches no recorded inclusion';
    expect(check({ items: [item({ id: 'i2' })] })).toBe(`Subject access item i2 (document d1, version v1, in organisation south's part of request r1) ${noInclusion}: ${DIRECT}`);
    for (const changed of [{ documentId: 'd2' }, { versionId: 'v0' }, { organisationId: 'north' }, { addedBy: 'mallory' }, { requestId: 'r2' }]) {
      expect(check({ items: [item({ ...changed, removedBy: 'southDpo', removedAt: AT })] })).toContain(noInclusion);
    }
    const noRemove = EVENTS.filter((e) => e.action !== 'subject-access.remove');
    expect(check({}, noRemove)).toBe(`Subject access item i1 (document d1 in subject access request r1) is marked taken out of the response by person southDpo, which no audit event records: ${DIRECT}`);
    expect(check({ items: [item({ removedBy: 'mallory', removedAt: AT })] })).toContain('is marked taken out of the response by person mallory');
    expect(check({ items: [item()] })).toBe(`Subject access item i1 (document d1 in subject access request r1) was taken out of the response (the audit log records it) but its row says it is in: ${DIRECT}`);
    expect(check({ items: [item()] }, EVENTS, noRemove)).toBeNull();
  });

  it('names a request, part or item the log records whose row was deleted, unless it came after the rows were read', () => {
    const deleted = 'it was deleted in the database directly, not by Strongroom.';
    expect(check({ requests: [], parts: [], items: [] })).toBe(`Subject access request r1 (organisation north), whose opening the audit log records, has no row: ${deleted}`);
    expect(check({ parts: [part('north')] })).toBe(`Organisation south's part in subject access request r1, which the audit log records, has no row: ${deleted}`);
    expect(check({ parts: [part('south', { holdId: 'h1' })] })).toBe(`Organisation north's part in subject access request r1, which the audit log records, has no row: ${deleted}`);
    expect(check({ items: [] })).toBe(`Subject access item i1 (document d1 in subject access request r1), whose inclusion the audit log records, has no row: ${deleted}`);
    expect(check({ requests: [], parts: [], items: [] }, EVENTS, [])).toBeNull();
  });
});
