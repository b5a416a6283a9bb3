// Downloading a subject access request's response package (the requester's DPOs: `subject-access.manage`):
// which records go in, each decided again now, audited before the first byte and decided again as it flows.
// subject-access-package.ts builds the zip and its index.
import type { Readable } from 'node:stream';
import type { Repos } from '../domain/repositories.js';
import type { SubjectAccessItem } from '../domain/records/subject-access.js';
import type { Actor } from '../domain/types.js';
import { documentResource } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { DECIDED_AGAIN_EVERY_MS, decidedAgainWhileFlowing } from './decided-while-flowing.js';
import { partResource, recordedInclusions, requireManaged, type SubjectAccessServiceOptions } from './subject-access-checks.js';
import { responseEntries, responsePackage, type ResponseEntry } from './subject-access-package.js';

export class SubjectAccessPackageService {
  constructor(private readonly o: Pick<SubjectAccessServiceOptions, 'store' | 'access' | 'clock' | 'blobs' | 'identity'>) {}

  private get repos(): Repos {
    return this.o.store.repos;
  }

  /**
   * The response package: a zip of every record the parts put in (the version each chose), with an index
   * saying what each file is and what was withheld and why. The requester's DPOs only. Each record is
   * decided again now: a partner's go only while its arrangement is in force, only versions scanned clean,
   * and only records whose inclusion the audit log records (a row written into the database directly is
   * withheld, not sent). Audited before the first byte, and decided again as it flows.
   */
  async download(actor: Actor, requestId: string): Promise<{ filename: string; stream: Readable; entries: ResponseEntry[] }> {
    const { request, decision } = await requireManaged(this.o, actor, requestId);
    const parts = await this.repos.subjectAccess.parts(requestId);
    const receivable = await this.o.access.decisions(actor, parts.map((p) => ({ action: 'subject-access.receive' as const, resource: partResource(request, p.organisationId) })));
    const items = (await this.repos.subjectAccess.items(requestId)).filter((i) => i.removedAt === null);
    // What the audit log vouches for, not what the rows say: an inclusion it records and no removal it records
    // (a removed item's row put back by hand stays out, as one written by hand does).
    const entries = await responseEntries(this.repos, {
      request, items,
      partAllowed: new Map(parts.map((p, i) => [p.organisationId, receivable[i]!.allow])),
      recorded: await recordedInclusions(this.repos, requestId, items),
      organisations: new Map((await this.repos.organisations.list()).map((o) => [o.id, o])),
      // The requester's own records go only to a DPO who may read them (clearance and teams), as on the request's page.
      ownOrganisationId: request.organisationId,
      readable: await this.readableOwn(actor, request.organisationId, items),
    });
    const now = this.o.clock.now();
    const included = entries.filter((e) => e.content !== null).length;
    await this.repos.audit.insert([auditEvent(actor, 'subject-access.export', {
      organisationId: request.organisationId, ids: { requestId, included: String(included), withheld: String(entries.length - included) },
    }, decision, now)]);
    const stream = decidedAgainWhileFlowing(responsePackage(this.o.blobs, request, entries, now), {
      now: () => this.o.clock.now().getTime(), everyMs: DECIDED_AGAIN_EVERY_MS,
      decideAgain: async () => {
        const target = { organisationId: request.organisationId, ids: { requestId } };
        await requireManaged(this.o, await this.o.identity.actorNow(actor, 'subject-access.export', target, 'download'), requestId);
      },
    });
    return { filename: `subject-access-${safeFilePart(request.reference)}.zip`, stream, entries };
  }

  /** Of these items' documents, the ids of those of `organisationId` the actor may read (document.read). */
  private async readableOwn(actor: Actor, organisationId: string, items: readonly SubjectAccessItem[]): Promise<Set<string>> {
    const own = (await this.repos.documents.byIds(items.filter((i) => i.organisationId === organisationId).map((i) => i.documentId))).filter((d) => d.organisationId === organisationId);
    return new Set((await this.o.access.filter(actor, 'document.read', own, documentResource)).map((d) => d.id));
  }
}

const safeFilePart = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80) || 'request';
