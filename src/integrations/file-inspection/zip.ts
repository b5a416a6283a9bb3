// Zip (and so OOXML, OpenDocument, JAR…): walks the central directory through range reads, never
// inflating what it does not open, and opens nested zips and OLE2 files up to fixed limits: sizes,
// ratios, traversal names, symbolic links, overlapping entries, macros and passwords.
import { PassThrough } from 'node:stream';
import yauzl from 'yauzl';
import type { ArchiveFacts, FileFacts } from '../../domain/file-policy/file-facts.js';
import { inspectOle } from './ole.js';
import { describeError, memoryReader, type ReadExclusive } from './random-access.js';

export interface ZipLimits {
  /** Nesting levels to open; one more than the policy's maxDepth is enough to see a breach. */
  maxDepth: number;
  /** Nested archives up to this size (packed and unpacked) are read into memory and opened. */
  maxNestedBytes: number;
  /**
   * Total bytes inflated from nested entries per file, bounding CPU and memory on hostile zips. Every
   * byte inflated counts, whether the entry then opens or not (too long, lying about its size, not an
   * archive after all): otherwise entries that fail just past the size limit could each inflate
   * `maxNestedBytes` for free, thousands of times over.
   */
  nestedBudgetBytes: number;
  /** Entries smaller than this are left out of maxRatio: small XML parts routinely compress 100:1. */
  ratioFloorBytes: number;
  /** Do not walk directories holding more entries than this in all (the count is still reported). */
  maxEntriesRead: number;
}

export function isZipStart(head: Buffer): boolean {
  // Local file header, or the end record of an empty zip.
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/**
 * The archive's facts; macro evidence found inside (vbaProject.bin, XLM sheets, embedded OLE
 * macros) is recorded on `file`, since it is the file's, not the archive's.
 */
export async function inspectZip(read: ReadExclusive, size: number, limits: ZipLimits, file: FileFacts): Promise<ArchiveFacts> {
  const state: ZipState = { limits, nestedBudget: limits.nestedBudgetBytes, nestedOpened: 0, facts: emptyArchiveFacts(size) };
  await walk(read, size, 1, state, file, '');
  return state.facts;
}

/** Adapts our promise reads to yauzl's stream-per-range reader. */
class YauzlRangeReader extends yauzl.RandomAccessReader {
  constructor(private readonly source: ReadExclusive) {
    super();
  }

  /** Directory reads (two per entry) skip yauzl's stream-per-read path, which costs ~0.1 ms each. */
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    const done = callback as (err: Error | null, bytesRead?: number) => void;
    this.source(position, position + length).then(
      (data) => {
        data.copy(buffer, offset);
        done(null, data.length);
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  }

  override _readStreamForRange(start: number, end: number): PassThrough {
    const out = new PassThrough();
    this.source(start, end).then(
      (data) => out.end(data),
      (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
    );
    return out;
  }
}

const NESTED_ZIP_EXTENSIONS = new Set([
  'zip', 'docx', 'docm', 'dotx', 'dotm', 'xlsx', 'xlsm', 'xltx', 'xltm', 'xlsb', 'xlam',
  'pptx', 'pptm', 'ppsx', 'ppsm', 'potx', 'potm', 'ppam', 'vsdx', 'odt', 'ods', 'odp', 'odg', 'epub', 'jar', 'apk',
]);
const NESTED_OLE_EXTENSIONS = new Set(['doc', 'dot', 'xls', 'xlt', 'xla', 'ppt', 'pps', 'pot', 'msg', 'pub']);
const MAX_EXTENSIONS_KEPT = 256;
/** Nested entries opened per file at most, whatever they cost to inflate (an empty one costs a read and a check). */
const MAX_NESTED_OPENED = 5000;

interface ZipState {
  limits: ZipLimits;
  facts: ArchiveFacts;
  nestedBudget: number;
  /** Nested entries opened so far, at every level. */
  nestedOpened: number;
}

function emptyArchiveFacts(size: number): ArchiveFacts {
  return {
    format: 'zip',
    entries: 0,
    expandedBytes: 0,
    compressedBytes: size,
    maxRatio: 0,
    depth: 1,
    overlappingEntries: false,
    encryptedEntries: 0,
    entryExtensions: {},
    isOoxml: false,
    isOpenDocument: false,
    uninspected: [],
    incomplete: false,
  };
}

function openZip(read: ReadExclusive, size: number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    // decodeStrings: false, because yauzl rejects "../" names outright and we want to report them.
    yauzl.fromRandomAccessReader(new YauzlRangeReader(read), size, { lazyEntries: true, decodeStrings: false, autoClose: true }, (error, zip) =>
      error ? reject(error) : resolve(zip),
    );
  });
}

/** Next entry, or undefined at the end. */
function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      zip.removeListener('entry', onEntry);
      zip.removeListener('end', onEnd);
      zip.removeListener('error', onError);
    };
    const onEntry = (entry: yauzl.Entry): void => {
      cleanup();
      resolve(entry);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(undefined);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function entryName(entry: yauzl.Entry): string {
  // With decodeStrings off, fileName is the raw bytes. Bit 11 means UTF-8; otherwise CP437, of which
  // latin1 is a faithful-enough reading for path checks and messages.
  const raw = entry.fileName as unknown as Buffer;
  return raw.toString((entry.generalPurposeBitFlag & 0x800) !== 0 ? 'utf8' : 'latin1');
}

/** Does extracting this name write outside the target folder (on Unix or Windows)? */
function escapesFolder(name: string): boolean {
  if (name.startsWith('/') || name.startsWith('\\') || /^[a-zA-Z]:/.test(name)) return true;
  return name.split(/[\\/]/).some((segment) => segment === '..');
}

function isSymlink(entry: yauzl.Entry): boolean {
  const madeByUnix = entry.versionMadeBy >> 8 === 3;
  return madeByUnix && ((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000;
}

function extensionOfEntry(name: string): string | undefined {
  const base = name.split(/[\\/]/).pop() ?? '';
  const trimmed = base.replace(/[\s.]+$/u, '');
  const dot = trimmed.lastIndexOf('.');
  return dot > 0 || (dot === 0 && trimmed.length > 1) ? trimmed.slice(dot + 1).toLowerCase() : undefined;
}

async function walk(read: ReadExclusive, size: number, depth: number, state: ZipState, file: FileFacts, prefix: string): Promise<void> {
  const archive = state.facts;
  archive.depth = Math.max(archive.depth, depth);
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(read, size);
  } catch (error) {
    archive.unreadable ??= `${prefix}${describeError(error)}`;
    return;
  }
  if (archive.entries + zip.entryCount > state.limits.maxEntriesRead) {
    // Walking the directory costs yauzl ~70 µs an entry; past the cap the count alone decides.
    archive.entries += zip.entryCount;
    archive.incomplete = true;
    zip.close();
    return;
  }
  const spans: Array<[number, number]> = [];
  /** The data spans of the nested entries opened so far at this level. */
  const openedSpans: Array<[number, number]> = [];
  let index = 0;
  try {
    for (;;) {
      const entry = await nextEntry(zip);
      if (!entry) break;
      archive.entries++;
      const name = entryName(entry);
      const shown = prefix + name;
      spans.push([entry.relativeOffsetOfLocalHeader, entry.compressedSize]);

      if (escapesFolder(name)) archive.traversalEntry ??= shown;
      if (isSymlink(entry)) archive.symlinkEntry ??= shown;
      archive.expandedBytes += entry.uncompressedSize;
      if (entry.uncompressedSize >= state.limits.ratioFloorBytes) {
        archive.maxRatio = Math.max(archive.maxRatio, entry.uncompressedSize / Math.max(1, entry.compressedSize));
      }
      const encrypted = entry.isEncrypted();
      if (encrypted) archive.encryptedEntries++;

      const ext = extensionOfEntry(name);
      if (ext && !(ext in archive.entryExtensions) && Object.keys(archive.entryExtensions).length < MAX_EXTENSIONS_KEPT) {
        archive.entryExtensions[ext] = shown;
      }
      if (depth === 1 && name === '[Content_Types].xml') archive.isOoxml = true;
      if (depth === 1 && index === 0 && name === 'mimetype') archive.isOpenDocument = true;
      index++;

      const lower = name.toLowerCase();
      // VBA lives in vbaProject.bin; Excel 4.0 macros (XLM) live in xl/macrosheets/ and need no VBA.
      if (lower.endsWith('vbaproject.bin') || lower.startsWith('xl/macrosheets/')) {
        file.containsVbaProject = true;
        file.macroEvidence ??= shown;
      }

      const isDirectory = name.endsWith('/');
      const nestedZip = ext !== undefined && NESTED_ZIP_EXTENSIONS.has(ext);
      // Embedded OLE objects in Office packages can carry their own macros.
      const nestedOle = ext !== undefined && (NESTED_OLE_EXTENSIONS.has(ext) || (ext === 'bin' && /(^|\/)embeddings\//i.test(lower)));
      if (isDirectory || encrypted || !(nestedZip || nestedOle)) continue;
      if (nestedZip && depth + 1 > state.limits.maxDepth) {
        archive.depth = Math.max(archive.depth, depth + 1); // deep enough to breach any sane policy; no need to open
        continue;
      }
      // Data another entry's span already covers is never inflated again: many directory entries
      // pointing at one compressed stream (the overlapping-entries bomb) would each cost the full
      // inflation. The zip is refused as a bomb anyway (overlappingEntries, below).
      const sharesData = overlapsAny(openedSpans, entry.relativeOffsetOfLocalHeader, entry.compressedSize);
      if (sharesData) archive.overlappingEntries = true;
      const fits =
        !sharesData &&
        state.nestedOpened < MAX_NESTED_OPENED &&
        entry.uncompressedSize <= state.limits.maxNestedBytes &&
        entry.compressedSize <= state.limits.maxNestedBytes &&
        entry.uncompressedSize <= state.nestedBudget;
      if (!fits) {
        if (nestedZip) archive.depth = Math.max(archive.depth, depth + 1);
        if (archive.uninspected.length < 20) archive.uninspected.push(shown);
        continue;
      }
      openedSpans.push([entry.relativeOffsetOfLocalHeader, entry.compressedSize]);
      state.nestedOpened++;
      const { data: inner, inflated } = await readEntry(zip, entry, Math.min(state.limits.maxNestedBytes, state.nestedBudget));
      state.nestedBudget -= inflated;
      if (!inner) {
        if (archive.uninspected.length < 20) archive.uninspected.push(shown);
        continue;
      }
      const innerRead = memoryReader(inner);
      if (isZipStart(inner)) {
        await walk(innerRead, inner.length, depth + 1, state, file, `${shown}/`);
      } else if (inner.length >= 512 && inner.readUInt32BE(0) === 0xd0cf11e0) {
        const ole = await inspectOle(innerRead, inner.length);
        if (ole.macroStorage) {
          file.oleHasMacros = true;
          file.macroEvidence ??= `${shown} (OLE storage ${ole.macroStorage})`;
        }
        if (ole.encryptedPackage) archive.encryptedEntries++; // a password-protected Office file inside the zip
      }
    }
  } catch (error) {
    archive.unreadable ??= `${prefix}${describeError(error)}`;
  } finally {
    zip.close();
  }
  archive.overlappingEntries ||= overlaps(spans);
}

/** Entries whose data ranges overlap: each local header is at least 30 bytes before its data. */
function overlaps(spans: Array<[number, number]>): boolean {
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    const [previousStart, previousSize] = spans[i - 1] as [number, number];
    const [start] = spans[i] as [number, number];
    if (start < previousStart + 30 + previousSize) return true;
  }
  return false;
}

/** Does [start, start + 30 + size) (a local header and its data) overlap a span already taken? */
function overlapsAny(taken: ReadonlyArray<[number, number]>, start: number, size: number): boolean {
  const end = start + 30 + size;
  return taken.some(([otherStart, otherSize]) => start < otherStart + 30 + otherSize && otherStart < end);
}

/**
 * Inflates one entry into memory, giving up (no data) past `limit` bytes or on any error. `inflated`
 * is what it cost, whatever the outcome: the caller charges it to the nested budget.
 */
function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, limit: number): Promise<{ data: Buffer | undefined; inflated: number }> {
  return new Promise((resolve) => {
    let total = 0;
    let settled = false;
    const settle = (data: Buffer | undefined): void => {
      if (settled) return;
      settled = true;
      resolve({ data, inflated: total });
    };
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return settle(undefined);
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        total += chunk.length;
        if (total > limit) {
          stream.destroy();
          settle(undefined);
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', () => settle(undefined));
      stream.on('end', () => settle(Buffer.concat(chunks)));
    });
  });
}
