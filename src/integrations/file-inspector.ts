// Gathers the FileFacts the file policy decides on: magic bytes from the first 64 KiB, then, by
// format, the zip central directory, the OLE2 directory or the 7z/RAR headers, read through a
// RangeReader over the already-encrypted blob, so inspection holds little in memory and never
// writes plaintext to disk. Each format's parser lives in file-inspection/.
import type { FileFacts } from '../domain/file-policy/file-facts.js';
import type { RangeReader } from '../domain/ports.js';
import { activeMarkupKind, detect, executableKind, looksLikeText, scriptKind } from './file-inspection/magic.js';
import { inspectOle } from './file-inspection/ole.js';
import { BlockCache } from './file-inspection/random-access.js';
import { rarEncryption } from './file-inspection/rar.js';
import { sevenZipEncryption } from './file-inspection/seven-zip.js';
import { inspectZip, isZipStart, type ZipLimits } from './file-inspection/zip.js';

export const HEAD_BYTES = 64 * 1024;

export interface InspectInput {
  /** The name the uploader gave. */
  name: string;
  /** Plaintext size in bytes. */
  size: number;
  /** The first bytes of the plaintext (up to HEAD_BYTES; fewer for small files). */
  head: Buffer;
  /** Random access to the plaintext, for zip and OLE2 directories at the end or middle of the file. */
  readRange: RangeReader;
}

/** Limits on how far archives are opened (see ZipLimits); the defaults suit the default policy. */
export type InspectOptions = Partial<ZipLimits>;

const DEFAULTS: ZipLimits = {
  maxDepth: 4,
  maxNestedBytes: 8 * 1024 * 1024,
  nestedBudgetBytes: 64 * 1024 * 1024,
  ratioFloorBytes: 1024 * 1024,
  maxEntriesRead: 20_000,
};

export async function inspectFile(input: InspectInput, options: InspectOptions = {}): Promise<FileFacts> {
  const limits = { ...DEFAULTS, ...options };
  const head = input.head.subarray(0, Math.min(input.head.length, input.size));
  const facts: FileFacts = {
    declaredName: input.name,
    size: input.size,
    textLike: looksLikeText(head),
    containsVbaProject: false,
    oleHasMacros: false,
  };
  const detected = await detect(head);
  if (detected) facts.detected = detected;

  const executable = executableKind(head, detected, facts.textLike);
  if (executable) facts.executable = executable;
  const script = scriptKind(head, detected);
  if (script) facts.script = script;
  if ((facts.textLike && !detected) || detected?.ext === 'xml') {
    const markup = activeMarkupKind(head);
    if (markup) facts.activeMarkup = markup;
  }

  const source = new BlockCache(input.readRange, input.size, head);
  if (isZipStart(head)) {
    facts.archive = await inspectZip(source.read, input.size, limits, facts);
  } else if (detected?.ext === 'cfb') {
    const ole = await inspectOle(source.read, input.size);
    if (ole.macroStorage) {
      facts.oleHasMacros = true;
      facts.macroEvidence = `OLE storage ${ole.macroStorage}`;
    }
    if (ole.installer && !facts.executable) facts.executable = 'msi';
    if (ole.encryptedPackage) facts.encryption = { format: 'office', evidence: `OLE2 stream ${ole.encryptedPackage}` };
  } else if (detected?.ext === '7z') {
    const evidence = await sevenZipEncryption(source.read, input.size);
    if (evidence) facts.encryption = { format: '7z', evidence };
  } else if (detected?.ext === 'rar') {
    const evidence = rarEncryption(head);
    if (evidence) facts.encryption = { format: 'rar', evidence };
  }
  if (!facts.encryption && facts.archive && facts.archive.encryptedEntries > 0) {
    facts.encryption = { format: 'zip', evidence: `${facts.archive.encryptedEntries} password-protected entries` };
  }
  return facts;
}
