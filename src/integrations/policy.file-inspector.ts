// The FileInspector port: gathers facts from the content (integrations/file-inspector.ts) and asks the
// organisation's file-type policy (domain/file-policy) whether the file may be stored.
import { DEFAULT_FILE_POLICY, evaluateFile, filePolicy, type FilePolicy } from '../domain/file-policy/file-policy.js';
import type { FileInspection, FileInspector, RangeReader } from '../domain/ports.js';
import { inspectFile } from './file-inspector.js';

export class PolicyFileInspector implements FileInspector {
  /** Reads an organisation's stored policy overrides (JSON), or null for the safe defaults. */
  constructor(private readonly policyOf: (organisationId: string) => Promise<string | null>) {}

  async inspect(input: { organisationId: string; name: string; size: number; head: Buffer; readRange: RangeReader; encryptedInside?: string }): Promise<FileInspection> {
    const facts = await inspectFile({ name: input.name, size: input.size, head: input.head, readRange: input.readRange });
    // What the scanner could not read behind a password is decided on as what the inspector saw itself.
    if (input.encryptedInside && !facts.encryption) facts.encryption = { format: 'contents', evidence: `the malware scanner: ${input.encryptedInside}` };
    const decision = evaluateFile(facts, await this.policyFor(input.organisationId));
    const mediaType = facts.detected?.mime ?? (facts.textLike ? 'text/plain' : 'application/octet-stream');
    if (!decision.allowed) return { allowed: false, mediaType, code: decision.code, reason: decision.reason };
    return decision.review ? { allowed: true, mediaType, review: decision.review } : { allowed: true, mediaType };
  }

  private async policyFor(organisationId: string): Promise<FilePolicy> {
    const stored = await this.policyOf(organisationId);
    return stored ? filePolicy(JSON.parse(stored) as Parameters<typeof filePolicy>[0]) : DEFAULT_FILE_POLICY;
  }
}
