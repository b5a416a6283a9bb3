// Importing straight into a data directory: the services, as the named user (their permissions
// apply, refusals are audited), exactly as any other upload is done.
import type { ReadStream } from 'node:fs';
import { DomainError, type ErrorCode } from '../../domain/errors.js';
import type { Actor } from '../../domain/types.js';
import type { AppServices } from '../../services/app-services.js';
import { uploadOutcome } from '../../services/upload-outcome.js';
import type { UploadResult } from '../../services/documents.service.js';
import { refusedForAMoment } from '../context.js';
import { openSourceStream } from './source-file.js';
import { FileRefused, ImportFatal, TryAgain, type ExistingDocument, type ImportTarget, type Sent, type SourceFile, type StoredVersion } from './target.js';

export class DirectTarget implements ImportTarget {
  readonly description: string;

  constructor(private readonly vault: AppServices, private readonly actor: Actor, email: string) {
    this.description = `the data directory, as ${email}`;
  }

  async open(collectionId: string): Promise<void> {
    await this.vault.collections.open(this.actor, collectionId);
  }

  async childCollection(parentId: string, name: string, create: boolean): Promise<string | null> {
    return refusals(async () => {
      const listing = await this.vault.collections.open(this.actor, parentId);
      const wanted = name.normalize('NFC');
      const existing = listing.children.find((c) => c.name === wanted);
      if (existing) return existing.id;
      if (!create) return null;
      const parent = listing.collection;
      const child = await this.vault.collectionCreation.create(this.actor, {
        organisationId: parent.organisationId, parentId: parent.id, name, serviceArea: parent.serviceArea, classification: parent.classification,
      });
      return child.id;
    });
  }

  async documents(collectionId: string): Promise<Map<string, ExistingDocument>> {
    const found = new Map<string, ExistingDocument>();
    let after: string | undefined;
    // Page on until a page brings nothing new: a listing is capped, and filtered by what the user may see.
    for (;;) {
      const listing = await this.vault.collections.get(this.actor, collectionId, after === undefined ? {} : { documentsAfter: after });
      if (listing.documents.length === 0) return found;
      for (const d of listing.documents) found.set(d.name, { id: d.id, sha256: d.sha256, status: d.status });
      after = listing.documents[listing.documents.length - 1]!.name;
    }
  }

  async versions(documentId: string): Promise<StoredVersion[]> {
    const { versions } = await this.vault.documents.versions(this.actor, documentId);
    return versions.map((v) => ({ number: v.number, sha256: v.sha256, scanStatus: v.scanStatus, scanDetail: v.scanDetail }));
  }

  upload(collectionId: string, file: SourceFile): Promise<Sent> {
    return refusals(() => withFileBody(file, async (body) => sent(await this.vault.documents.upload(this.actor, collectionId, {
      name: file.name, body, declaredSize: file.size, sourceModifiedAt: file.modifiedAt.toISOString(),
    }))));
  }

  uploadVersion(documentId: string, file: SourceFile): Promise<Sent> {
    return refusals(() => withFileBody(file, async (body) => sent(await this.vault.documents.uploadVersion(this.actor, documentId, {
      body, declaredSize: file.size, sourceModifiedAt: file.modifiedAt.toISOString(),
    }))));
  }

  async close(): Promise<void> {
    // The vault is closed by withVault.
  }
}

/**
 * Runs `use` on a stream of the file, then closes it whatever happened: an upload refused before it
 * read the body (a name the policy refuses, a full disk) would otherwise leave the file open, one
 * descriptor per refused file until an import of many ran out of them.
 */
async function withFileBody<T>(file: SourceFile, use: (body: ReadStream) => Promise<T>): Promise<T> {
  // Only the file the walk found, where it found it (source-file.ts).
  const body = await openSourceStream(file);
  try {
    return await use(body);
  } finally {
    body.destroy();
  }
}

function sent(result: UploadResult): Sent {
  const outcome = uploadOutcome(result);
  const documentId = result.document.id;
  switch (outcome.kind) {
    case 'infected':
      return { outcome: 'refused', documentId, reason: `malware (${outcome.signature}); quarantined` };
    case 'held_for_review':
      return { outcome: 'held', documentId, version: result.version.number, reason: outcome.reason };
    case 'pending_scan':
    case 'available':
      return { outcome: 'imported', documentId, version: result.version.number };
  }
}

const FATAL = new Set<ErrorCode>(['UNAUTHENTICATED', 'INSUFFICIENT_STORAGE', 'UNAVAILABLE', 'INTEGRITY']);

/** The vault's refusal of one file becomes FileRefused (the import goes on); its admission limit, a wait. */
async function refusals<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError && error.code === 'RATE_LIMITED') {
      const seconds = Number((error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds ?? 1);
      throw new TryAgain(error.message, seconds * 1000);
    }
    // A full disk, a store that is down or damaged, the database refusing for a moment: every file after would fail the same way.
    if (error instanceof DomainError && FATAL.has(error.code)) throw new ImportFatal(error.message, refusedForAMoment(error));
    if (error instanceof DomainError) throw new FileRefused(error.message);
    throw error;
  }
}
