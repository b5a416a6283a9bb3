// Reading subject access requests: the register of those an organisation received and was asked to search
// for, and one request as its viewer may see it. The requester's DPOs see every part (a partner's while
// decide() lets them receive it); a partner's DPOs only their own. Reads ask decide() as the steps do
// (`subject-access.read`, `.read-part`, `.read-received`), and go by the audit log, not the rows.
import { currentDueOn, isRequestOpen, type SubjectAccessItem, type SubjectAccessPart, type SubjectAccessRequest } from '../domain/records/subject-access.js';
import type { CalendarDate } from '../domain/records/retention.js';
import type { Repos } from '../domain/repositories.js';
import type { Actor, Organisation } from '../domain/types.js';
import { documentResource } from './access.service.js';
import {
  EXPORTABLE, MISSING, askedOf, brief, inclusionKey, openedBy, partResource, recordedInclusions, requireOrganisationRow, requirePart, requireRequest,
  type SubjectAccessServiceOptions,
} from './subject-access-checks.js';

/** A record in a response, as the viewer may know it. */
export interface SubjectAccessItemView {
  item: SubjectAccessItem;
  /** Null once the document is gone (it cannot be while its hold stands, unless the hold was released by hand). */
  documentName: string | null;
  versionNumber: number | null;
  size: number | null;
  /** Whether the version's bytes can go in the package now: scanned clean (or released from quarantine). */
  exportable: boolean;
}

export interface SubjectAccessPartView {
  part: SubjectAccessPart;
  organisation: Pick<Organisation, 'id' | 'slug' | 'name'>;
  /** Records in the response (not removed). */
  items: number;
}

/** A request as one viewer may see it: the requesting DPOs see every part; a partner's DPOs only their own. */
export interface SubjectAccessView {
  request: SubjectAccessRequest;
  requester: Pick<Organisation, 'id' | 'slug' | 'name'>;
  /** 'requester': the viewer's organisation received the request; 'partner': it was asked to search. */
  role: 'requester' | 'partner';
  dueOn: CalendarDate;
  parts: SubjectAccessPartView[];
  /** The records the viewer may see: every part's for the requester (a partner's while its arrangement is in force), their own for a partner. */
  items: Array<SubjectAccessItemView & { organisationId: string }>;
  /** Which of the viewer's own steps are open now, for pages to show buttons by (asked of decide(), as the steps are). */
  can: { manage: boolean; respond: boolean };
}

export interface SubjectAccessSummary {
  request: SubjectAccessRequest;
  requester: Pick<Organisation, 'id' | 'slug' | 'name'>;
  role: 'requester' | 'partner';
  dueOn: CalendarDate;
  /** For a partner: whether its search is marked finished. */
  searched: boolean | null;
}

export class SubjectAccessViewsService {
  constructor(private readonly o: Pick<SubjectAccessServiceOptions, 'store' | 'access' | 'personNames'>) {}

  private get repos(): Repos {
    return this.o.store.repos;
  }

  /**
   * The requests the actor's organisation received, and those it was asked to search for (its DPOs). Reads
   * (`subject-access.read`, `subject-access.read-part`: the same people as managing and answering them).
   */
  async list(actor: Actor): Promise<SubjectAccessSummary[]> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, 'subject-access.read', organisationId, {}, { missing: 'organisation' });
    const out: SubjectAccessSummary[] = [];
    const requester = await requireOrganisationRow(this.repos, organisationId);
    const opened = await openedBy(this.repos, organisationId);
    for (const request of (await this.repos.subjectAccess.requestsOf(organisationId)).filter((r) => opened.has(r.id))) {
      out.push({ request, requester: brief(requester), role: 'requester', dueOn: currentDueOn(request), searched: null });
    }
    // Asked of this organisation: shown while the arrangement with the requester is in force (a suspension hides them).
    const openedByRequester = new Map<string, Set<string>>();
    const asked: SubjectAccessRequest[] = [];
    const askedOfUs = await askedOf(this.repos, organisationId);
    for (const request of (await this.repos.subjectAccess.requestsAskedOf(organisationId)).filter((r) => askedOfUs.has(r.id))) {
      if (!openedByRequester.has(request.organisationId)) openedByRequester.set(request.organisationId, await openedBy(this.repos, request.organisationId));
      if (openedByRequester.get(request.organisationId)!.has(request.id)) asked.push(request);
    }
    const allowed = await this.o.access.can(actor, asked.map((r) => ({ action: 'subject-access.read-part' as const, resource: partResource(r, organisationId) })));
    for (const [i, request] of asked.entries()) {
      if (!allowed[i]) continue;
      const part = (await this.repos.subjectAccess.parts(request.id)).find((p) => p.organisationId === organisationId);
      const org = await this.repos.organisations.byId(request.organisationId);
      if (!part || !org) continue;
      out.push({ request, requester: brief(org), role: 'partner', dueOn: currentDueOn(request), searched: part.searchedAt !== null });
    }
    const known = await this.identified(actor, out.flatMap((o) => [o.request.openedBy, o.request.closedBy]));
    const only = (id: string | null): string | null => (id !== null && known.has(id) ? id : null);
    return out.map((o) => ({ ...o, request: { ...o.request, openedBy: only(o.request.openedBy), closedBy: only(o.request.closedBy) } }));
  }

  /** Of these people, those the actor may single out (`person.identify`: their colleagues and themselves). */
  private async identified(actor: Actor, userIds: readonly (string | null)[]): Promise<Set<string>> {
    const ids = [...new Set(userIds.filter((id): id is string => id !== null))];
    const names = await this.o.personNames.namesFor(actor, ids);
    return new Set(ids.filter((id) => names.get(id)?.identified === true));
  }

  /** One request as the actor may see it: its requester's DPOs see it whole; an asked organisation's DPOs their own part. */
  async get(actor: Actor, requestId: string): Promise<SubjectAccessView> {
    const view = await this.unmaskedView(actor, requestId);
    // Another organisation's people are not singled out to the viewer (person.identify): who opened the
    // request, who searched a partner's part, who put a record in, are named only to their colleagues.
    const known = await this.identified(actor, [
      view.request.openedBy, view.request.closedBy, ...view.parts.flatMap((p) => [p.part.askedBy, p.part.searchedBy]), ...view.items.map((i) => i.item.addedBy),
    ]);
    const only = (id: string | null): string | null => (id !== null && known.has(id) ? id : null);
    return {
      ...view,
      request: { ...view.request, openedBy: only(view.request.openedBy), closedBy: only(view.request.closedBy) },
      parts: view.parts.map((p) => ({ ...p, part: { ...p.part, askedBy: only(p.part.askedBy), searchedBy: only(p.part.searchedBy) } })),
      items: view.items.map((i) => ({ ...i, item: { ...i.item, addedBy: only(i.item.addedBy), removedBy: only(i.item.removedBy) } })),
    };
  }

  private async unmaskedView(actor: Actor, requestId: string): Promise<SubjectAccessView> {
    const request = await requireRequest(this.o, requestId);
    const requester = await requireOrganisationRow(this.repos, request.organisationId);
    // The requester's own part first, then the partners' in the order they were asked.
    const parts = (await this.repos.subjectAccess.parts(requestId)).sort((a, b) => Number(b.organisationId === request.organisationId) - Number(a.organisationId === request.organisationId));
    if (actor.organisationId === request.organisationId) {
      await this.o.access.requireOrganisation(actor, 'subject-access.read', request.organisationId, { requestId }, { missing: MISSING });
      const receivable = await this.o.access.can(actor, parts.map((p) => ({ action: 'subject-access.read-received' as const, resource: partResource(request, p.organisationId) })));
      const shown = new Set(parts.filter((_, i) => receivable[i]).map((p) => p.organisationId));
      const items = await this.vouchedFor(requestId, (await this.repos.subjectAccess.items(requestId)).filter((i) => i.removedAt === null && shown.has(i.organisationId)));
      return {
        request, requester: brief(requester), role: 'requester', dueOn: currentDueOn(request),
        parts: await this.partViews(parts, items), items: await this.itemViews(actor, items),
        can: await this.mayAct(actor, request),
      };
    }
    const { part } = await requirePart(this.o, actor, request, parts, 'subject-access.read-part');
    const items = await this.vouchedFor(requestId, (await this.repos.subjectAccess.items(requestId, part.organisationId)).filter((i) => i.removedAt === null));
    return {
      request, requester: brief(requester), role: 'partner', dueOn: currentDueOn(request),
      parts: await this.partViews([part], items), items: await this.itemViews(actor, items),
      can: { ...(await this.mayAct(actor, request)), manage: false },
    };
  }

  /**
   * What the viewer may do to the open request, as decide() answers it (manage it; answer their own organisation's
   * part): being let see it (a read, `subject-access.read` or `.read-part`) says nothing of that to a read-only credential.
   */
  private async mayAct(actor: Actor, request: SubjectAccessRequest): Promise<SubjectAccessView['can']> {
    if (!isRequestOpen(request)) return { manage: false, respond: false };
    const [manage, respond] = await this.o.access.can(actor, [
      { action: 'subject-access.manage', resource: { kind: 'organisation', organisationId: request.organisationId } },
      { action: 'subject-access.respond', resource: partResource(request, actor.organisationId ?? '') },
    ]);
    return { manage: manage === true, respond: respond === true };
  }

  /**
   * Puts records of the actor's own organisation in its part of the response: each one's current version,
   * which the actor must be able to download now (so never one above their clearance, outside their reach,
   * or not yet scanned clean). Each goes under the part's legal hold, made with its first record.

  /** Of these items, those the audit log vouches for: a request's page, like its package, goes by the log, not the rows. */
  private async vouchedFor(requestId: string, items: readonly SubjectAccessItem[]): Promise<SubjectAccessItem[]> {
    const recorded = await recordedInclusions(this.repos, requestId, items);
    return items.filter((i) => recorded.has(inclusionKey(i)));
  }

  private async partViews(parts: readonly SubjectAccessPart[], items: readonly SubjectAccessItem[]): Promise<SubjectAccessPartView[]> {
    const views: SubjectAccessPartView[] = [];
    for (const part of parts) {
      const organisation = await requireOrganisationRow(this.repos, part.organisationId);
      views.push({ part, organisation: brief(organisation), items: items.filter((i) => i.organisationId === part.organisationId).length });
    }
    return views;
  }

  private async itemViews(actor: Actor, items: readonly SubjectAccessItem[]): Promise<Array<SubjectAccessItemView & { organisationId: string }>> {
    const found = await this.repos.documents.byIds(items.map((i) => i.documentId));
    // The viewer's own organisation's records are described only if they may read them (a colleague with a
    // higher clearance or another team may have put them in); another organisation's part is what the
    // requester receives, described as that part's DPO sent it.
    const own = found.filter((d) => d.organisationId === actor.organisationId);
    const readable = new Set((await this.o.access.filter(actor, 'document.read', own, documentResource)).map((d) => d.id));
    const documents = new Map(found.filter((d) => d.organisationId !== actor.organisationId || readable.has(d.id)).map((d) => [d.id, d]));
    const views: Array<SubjectAccessItemView & { organisationId: string }> = [];
    for (const item of items) {
      const document = documents.get(item.documentId);
      const version = document && document.status !== 'disposed' ? await this.repos.documents.versionById(item.versionId) : undefined;
      views.push({
        item, organisationId: item.organisationId, documentName: document && document.status !== 'disposed' ? document.name : null,
        versionNumber: version?.number ?? null, size: version?.size ?? null, exportable: version !== undefined && EXPORTABLE.has(version.scanStatus),
      });
    }
    return views;
  }
}
