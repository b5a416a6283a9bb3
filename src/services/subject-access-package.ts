// The response package of a subject access request: a zip streamed entry by entry, each record's chosen
// version decrypted only when the zip reaches it (memory does not grow with the records), and an index
// (index.json and index.csv) saying what each file is, which organisation's it is, and what was withheld
// and why, so the DPO can account for every record in the response.
import type { Readable } from 'node:stream';
import yazl from 'yazl';
import type { EncryptedBlobs } from '../domain/ports.js';
import type { Repos } from '../domain/repositories.js';
import type { SubjectAccessItem, SubjectAccessRequest } from '../domain/records/subject-access.js';
import type { Document, Organisation, Version } from '../domain/types.js';
import { csvField } from './report-csv.js';
import { EXPORTABLE, inclusionKey } from './subject-access-checks.js';
import { addVersionLazily, zipOutput, zipPathSegment } from './zip-package.js';

/** Why a record in the response is not in the package. */
export const WITHHELD = {
  partner_not_in_force: 'The arrangement with the organisation that included it is no longer in force, so its records are not sent.',
  not_recorded: 'Its inclusion is not recorded in the audit log (the database was changed directly), so it is not sent.',
  gone: 'The document or version no longer exists.',
  not_clean: 'The version has not been found clean by the malware scan, so its bytes are not sent.',
  not_readable: 'You may not read this record of your own organisation (above your clearance or outside your teams), so it is not sent to you: a data protection officer who may read it can download the package.',
} as const;
export type WithheldReason = keyof typeof WITHHELD;

export interface ResponseEntry {
  item: SubjectAccessItem;
  organisation: Pick<Organisation, 'id' | 'slug' | 'name'>;
  document: Document | null;
  version: Version | null;
  /** The path of the file in the zip, or null when withheld. */
  path: string | null;
  /** The version whose bytes go in, or null when withheld. */
  content: Version | null;
  withheld: WithheldReason | null;
}

const segment = (name: string): string => zipPathSegment(name, 'document').slice(0, 180);

/**
 * Every record of the response as the package holds it. `partAllowed`: whether decide() lets the requester
 * receive each part's records now. `recorded`: the inclusions the audit log vouches for, as `inclusionKey`s
 * (subject-access-checks.ts). `ownOrganisationId` and `readable`: the records of the downloader's own
 * organisation go only where decide() lets them read them (`readable`, document ids): a colleague with a
 * higher clearance or another team may have put them in.
 */
export async function responseEntries(repos: Repos, o: {
  request: SubjectAccessRequest; items: readonly SubjectAccessItem[]; partAllowed: ReadonlyMap<string, boolean>;
  recorded: ReadonlySet<string>; organisations: ReadonlyMap<string, Organisation>; ownOrganisationId: string; readable: ReadonlySet<string>;
}): Promise<ResponseEntry[]> {
  const entries: ResponseEntry[] = [];
  for (const [index, item] of o.items.entries()) {
    const org = o.organisations.get(item.organisationId);
    const organisation = { id: item.organisationId, slug: org?.slug ?? item.organisationId, name: org?.name ?? 'Unknown organisation' };
    const found = await repos.documents.byId(item.documentId);
    const document = found && found.status !== 'disposed' && found.organisationId === item.organisationId ? found : null;
    const candidate = document ? await repos.documents.versionById(item.versionId) : undefined;
    const version = candidate && candidate.documentId === item.documentId ? candidate : null;
    let withheld: WithheldReason | null = null;
    if (o.partAllowed.get(item.organisationId) !== true) withheld = 'partner_not_in_force';
    else if (!o.recorded.has(inclusionKey(item))) withheld = 'not_recorded';
    else if (!document || !version || version.wrappedKey.length === 0) withheld = 'gone';
    else if (item.organisationId === o.ownOrganisationId && !o.readable.has(document.id)) withheld = 'not_readable';
    else if (!EXPORTABLE.has(version.scanStatus)) withheld = 'not_clean';
    const path = withheld === null && document ? `${segment(organisation.slug)}/${String(index + 1).padStart(4, '0')}-${segment(document.name)}` : null;
    // A partner's record withheld is named only by its organisation: its name is what the partner did not send.
    // One of the downloader's own organisation's they may not read is not named to them either.
    const shown = withheld === 'partner_not_in_force' || withheld === 'not_recorded' || withheld === 'not_readable' ? null : document;
    entries.push({ item, organisation, document: shown, version: shown ? version : null, path, content: withheld === null ? version : null, withheld });
  }
  return entries;
}

function indexOf(request: SubjectAccessRequest, entries: readonly ResponseEntry[], exportedAt: Date) {
  return {
    reference: request.reference, subject: request.subjectName, receivedOn: request.receivedOn, dueOn: request.extendedDueOn ?? request.dueOn,
    exportedAt: exportedAt.toISOString(),
    records: entries.map((e) => ({
      organisation: e.organisation.name, file: e.path, document: e.document?.name ?? null, documentId: e.item.documentId,
      version: e.version?.number ?? null, size: e.content?.size ?? null, sha256: e.content?.sha256 ?? null, mediaType: e.content?.mediaType ?? null,
      includedAt: e.item.addedAt, withheld: e.withheld === null ? null : WITHHELD[e.withheld],
    })),
  };
}

/** The zip of these entries, streamed: the index first, then each record's bytes as the zip reaches it. */
export function responsePackage(blobs: EncryptedBlobs, request: SubjectAccessRequest, entries: readonly ResponseEntry[], exportedAt: Date): Readable {
  const zip = new yazl.ZipFile();
  const index = indexOf(request, entries, exportedAt);
  zip.addBuffer(Buffer.from(`${JSON.stringify(index, null, 2)}\n`), 'index.json');
  const header = ['organisation', 'file', 'document', 'document_id', 'version', 'size', 'sha256', 'included_at', 'withheld'];
  const rows = index.records.map((r) => [r.organisation, r.file, r.document, r.documentId, r.version, r.size, r.sha256, r.includedAt, r.withheld].map(csvField).join(','));
  zip.addBuffer(Buffer.from(`${[header.join(','), ...rows].join('\r\n')}\r\n`), 'index.csv');
  for (const { content, path } of entries) if (content && path) addVersionLazily(zip, blobs, content, path);
  return zipOutput(zip);
}
