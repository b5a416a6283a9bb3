// Gathers the FileFacts the file policy decides on: magic bytes from the first 64 KiB, then the zip
// central directory or OLE2 directory read through a RangeReader over the already-encrypted blob,
// so inspection holds little in memory and never writes plaintext to disk.
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import yauzl from 'yauzl';
import type { ArchiveFacts, ExecutableKind, FileFacts, ScriptKind } from '../domain/file-policy/file-facts.js';
import type { RangeReader } from '../domain/ports.js';

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

export interface InspectOptions {
  /** Nesting levels to open; one more than the policy's maxDepth is enough to see a breach. */
  maxDepth?: number;
  /** Nested archives up to this size (packed and unpacked) are read into memory and opened. */
  maxNestedBytes?: number;
  /** Total bytes inflated from nested entries per file, bounding CPU and memory on hostile zips. */
  nestedBudgetBytes?: number;
  /** Entries smaller than this are left out of maxRatio: small XML parts routinely compress 100:1. */
  ratioFloorBytes?: number;
  /** Do not walk directories holding more entries than this in all (the count is still reported). */
  maxEntriesRead?: number;
}

const DEFAULTS: Required<InspectOptions> = {
  maxDepth: 4,
  maxNestedBytes: 8 * 1024 * 1024,
  nestedBudgetBytes: 64 * 1024 * 1024,
  ratioFloorBytes: 1024 * 1024,
  maxEntriesRead: 20_000,
};

export async function inspectFile(input: InspectInput, options: InspectOptions = {}): Promise<FileFacts> {
  const opts = { ...DEFAULTS, ...options };
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

  const source = new BlockCache(input.readRange, input.size, head);
  if (isZipStart(head)) {
    const state = newZipState(opts, input.size);
    await inspectZip(source.read, input.size, 1, state, facts, '');
    facts.archive = finishZipState(state);
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

// ---------------------------------------------------------------------------------------------
// 7z and RAR: only "is anything in here behind a password?"
// ---------------------------------------------------------------------------------------------

/** The 7zAES coder id (06 F1 07 01) as it appears in a 7z header's coder list. */
const SEVEN_ZIP_AES = Buffer.from([0x06, 0xf1, 0x07, 0x01]);
const MAX_7Z_HEADER_READ = 1024 * 1024;

/**
 * 7-Zip lists each folder's coders in the header at the end of the file. With encrypted names
 * (-mhe) the header is itself packed with 7zAES, whose id is then in the small plain "encoded
 * header". Limitation: when only the data is encrypted and the header is LZMA-packed (7-Zip's
 * default), the coder list is inside the packed header and this returns undefined; clamd then
 * decides alone (it scans what it can unpack).
 */
async function sevenZipEncryption(read: ReadExclusive, size: number): Promise<string | undefined> {
  try {
    if (size < 32) return undefined;
    const start = await read(0, 32);
    const offset = Number(start.readBigUInt64LE(12));
    const length = Number(start.readBigUInt64LE(20));
    const from = 32 + offset;
    if (!Number.isSafeInteger(from) || length <= 0 || from >= size) return undefined;
    const header = await read(from, Math.min(size, from + Math.min(length, MAX_7Z_HEADER_READ)));
    return header.includes(SEVEN_ZIP_AES) ? '7zAES coder in the archive header' : undefined;
  } catch {
    return undefined;
  }
}

const RAR4_SIGNATURE = Buffer.from('Rar!\x1a\x07\x00', 'latin1');
const RAR5_SIGNATURE = Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1');

/** Walks the block headers within the first 64 KiB (where the first files' headers are). */
function rarEncryption(head: Buffer): string | undefined {
  try {
    if (head.subarray(0, 8).equals(RAR5_SIGNATURE)) return rar5Encryption(head);
    if (head.subarray(0, 7).equals(RAR4_SIGNATURE)) return rar4Encryption(head);
  } catch {
    // a truncated or odd header: nothing proven
  }
  return undefined;
}

function rar4Encryption(head: Buffer): string | undefined {
  let at = 7;
  for (let blocks = 0; at + 7 <= head.length && blocks < 10_000; blocks++) {
    const type = head[at + 2] as number;
    const flags = head.readUInt16LE(at + 3);
    const headerSize = head.readUInt16LE(at + 5);
    if (headerSize < 7) return undefined;
    if (type === 0x73 && (flags & 0x0080) !== 0) return 'RAR 4 archive with encrypted headers';
    if (type === 0x74 && (flags & 0x0004) !== 0) return 'RAR 4 file entry marked encrypted';
    const addSize = (flags & 0x8000) !== 0 && at + 11 <= head.length ? head.readUInt32LE(at + 7) : 0;
    at += headerSize + addSize;
  }
  return undefined;
}

function rar5Encryption(head: Buffer): string | undefined {
  let at = 8;
  for (let blocks = 0; at + 6 <= head.length && blocks < 10_000; blocks++) {
    const vint = (position: number): [number, number] => {
      let value = 0;
      let shift = 0;
      for (let i = position; i < head.length && i < position + 10; i++) {
        const byte = head[i] as number;
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if ((byte & 0x80) === 0) return [value, i + 1];
      }
      throw new RangeError('truncated vint');
    };
    const [headerSize, afterSize] = vint(at + 4);
    const headerEnd = afterSize + headerSize;
    const [type, afterType] = vint(afterSize);
    const [flags, afterFlags] = vint(afterType);
    let cursor = afterFlags;
    let extraSize = 0;
    let dataSize = 0;
    if (flags & 0x01) [extraSize, cursor] = vint(cursor);
    if (flags & 0x02) [dataSize, cursor] = vint(cursor);
    if (type === 4) return 'RAR 5 archive with encrypted headers';
    if ((type === 2 || type === 3) && extraSize > 0 && headerEnd <= head.length) {
      // Extra area records: size, type, data. Type 1 is the file encryption record.
      let record = headerEnd - extraSize;
      while (record < headerEnd) {
        const [recordSize, afterRecordSize] = vint(record);
        const [recordType] = vint(afterRecordSize);
        if (recordType === 1) return 'RAR 5 file entry with an encryption record';
        record = afterRecordSize + recordSize;
      }
    }
    at = headerEnd + dataSize;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Head collector
// ---------------------------------------------------------------------------------------------

/** Keeps the first `limit` bytes of a stream fed to it, for inspection after the upload. */
export interface HeadCollector {
  push(chunk: Uint8Array): void;
  /** The bytes kept so far (a view; copy it if the collector lives on). */
  readonly head: Buffer;
  /** Every byte pushed, kept or not. */
  readonly bytesSeen: number;
  /** A pass-through Transform that feeds this collector, for use in a pipeline. */
  transform(): Transform;
}

export function createHeadCollector(limit: number = HEAD_BYTES): HeadCollector {
  let buffer: Buffer | undefined;
  let filled = 0;
  let seen = 0;
  const push = (chunk: Uint8Array): void => {
    seen += chunk.length;
    if (filled >= limit || chunk.length === 0) return;
    buffer ??= Buffer.allocUnsafe(limit);
    const take = Math.min(limit - filled, chunk.length);
    buffer.set(chunk.subarray(0, take), filled);
    filled += take;
  };
  return {
    push,
    get head() {
      return buffer ? buffer.subarray(0, filled) : Buffer.alloc(0);
    },
    get bytesSeen() {
      return seen;
    },
    transform() {
      return new Transform({
        transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
          push(chunk);
          callback(null, chunk);
        },
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Magic bytes, executables, scripts, text
// ---------------------------------------------------------------------------------------------

async function detect(head: Buffer): Promise<{ ext: string; mime: string } | undefined> {
  if (head.length === 0) return undefined;
  // UTF-16 text starts FF FE / FE FF, which file-type's MPEG frame-sync check takes for audio.
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return undefined;
  try {
    const found = await fileTypeFromBuffer(head);
    if (found) return { ext: found.ext, mime: found.mime };
  } catch {
    // A truncated head can trip a detector; fall through to our own checks.
  }
  // Readers accept "%PDF-" anywhere in the first kilobyte (after a mail or printer header);
  // file-type only looks at offset 0.
  if (head.subarray(0, 1024).includes('%PDF-')) return { ext: 'pdf', mime: 'application/pdf' };
  return undefined;
}

function executableKind(head: Buffer, detected: { ext: string } | undefined, textLike: boolean): ExecutableKind | undefined {
  if (head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a) {
    // "MZ" alone could start a text file; a PE header at e_lfanew makes it a Windows program.
    if (head.length >= 0x40) {
      const lfanew = head.readUInt32LE(0x3c);
      if (lfanew + 4 <= head.length && head.readUInt32BE(lfanew) === 0x50450000) return 'pe';
    }
    if (!textLike) return 'pe'; // a DOS executable, or a PE header beyond the head
  }
  switch (detected?.ext) {
    case 'elf':
      return 'elf';
    case 'macho':
      return 'macho';
    case 'lnk':
      return 'shortcut';
    default:
      return undefined;
  }
}

function scriptKind(head: Buffer, detected: { ext: string } | undefined): ScriptKind | undefined {
  const start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  if (head[start] === 0x23 && head[start + 1] === 0x21 && /^\s*\//.test(head.toString('latin1', start + 2, start + 8))) return 'shebang';
  if (detected?.ext === 'reg') return 'registry';
  if (detected?.ext === 'chm') return 'compiled-help';
  return undefined;
}

/** No NULs and hardly any control characters; UTF-16 text announces itself with a byte-order mark. */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return true;
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return true;
  let control = 0;
  for (const byte of head) {
    if (byte === 0) return false;
    // Tab, LF, FF, CR and ESC appear in real text; other C0 controls and DEL do not.
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d && byte !== 0x1b) || byte === 0x7f) control++;
  }
  return control <= head.length / 100;
}

// ---------------------------------------------------------------------------------------------
// Bounded random access
// ---------------------------------------------------------------------------------------------

type ReadExclusive = (start: number, endExclusive: number) => Promise<Buffer>;

/**
 * yauzl reads a central directory in many small pieces (two per entry); each would otherwise
 * decrypt a whole chunk of the blob. A small LRU of aligned blocks turns them into a few reads.
 */
class BlockCache {
  private readonly blocks = new Map<number, Promise<Buffer>>();

  constructor(
    private readonly readRange: RangeReader,
    private readonly size: number,
    private readonly head: Buffer,
    private readonly blockSize = 64 * 1024,
    private readonly maxBlocks = 32,
  ) {}

  readonly read: ReadExclusive = async (start, endExclusive) => {
    if (start < 0 || endExclusive > this.size || endExclusive < start) throw new RangeError(`read ${start}-${endExclusive} outside 0-${this.size}`);
    if (endExclusive <= this.head.length) return this.head.subarray(start, endExclusive);
    const parts: Buffer[] = [];
    for (let block = Math.floor(start / this.blockSize); block * this.blockSize < endExclusive; block++) {
      const data = await this.block(block);
      const base = block * this.blockSize;
      parts.push(data.subarray(Math.max(0, start - base), Math.min(data.length, endExclusive - base)));
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  };

  private block(index: number): Promise<Buffer> {
    let pending = this.blocks.get(index);
    if (pending) {
      this.blocks.delete(index); // re-insert: most recently used last
    } else {
      const start = index * this.blockSize;
      const end = Math.min(this.size, start + this.blockSize) - 1;
      pending = this.readRange({ start, end });
      pending.catch(() => this.blocks.delete(index));
    }
    this.blocks.set(index, pending);
    while (this.blocks.size > this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value as number);
    return pending;
  }
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

// ---------------------------------------------------------------------------------------------
// Zip
// ---------------------------------------------------------------------------------------------

const NESTED_ZIP_EXTENSIONS = new Set([
  'zip', 'docx', 'docm', 'dotx', 'dotm', 'xlsx', 'xlsm', 'xltx', 'xltm', 'xlsb', 'xlam',
  'pptx', 'pptm', 'ppsx', 'ppsm', 'potx', 'potm', 'ppam', 'vsdx', 'odt', 'ods', 'odp', 'odg', 'epub', 'jar', 'apk',
]);
const NESTED_OLE_EXTENSIONS = new Set(['doc', 'dot', 'xls', 'xlt', 'xla', 'ppt', 'pps', 'pot', 'msg', 'pub']);
const MAX_EXTENSIONS_KEPT = 256;

interface ZipState {
  opts: Required<InspectOptions>;
  facts: ArchiveFacts;
  nestedBudget: number;
}

function newZipState(opts: Required<InspectOptions>, size: number): ZipState {
  return {
    opts,
    nestedBudget: opts.nestedBudgetBytes,
    facts: {
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
    },
  };
}

function finishZipState(state: ZipState): ArchiveFacts {
  return state.facts;
}

function isZipStart(head: Buffer): boolean {
  // Local file header, or the end record of an empty zip.
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
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

async function inspectZip(read: ReadExclusive, size: number, depth: number, state: ZipState, file: FileFacts, prefix: string): Promise<void> {
  const archive = state.facts;
  archive.depth = Math.max(archive.depth, depth);
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(read, size);
  } catch (error) {
    archive.unreadable ??= `${prefix}${describe(error)}`;
    return;
  }
  if (archive.entries + zip.entryCount > state.opts.maxEntriesRead) {
    // Walking the directory costs yauzl ~70 µs an entry; past the cap the count alone decides.
    archive.entries += zip.entryCount;
    archive.incomplete = true;
    zip.close();
    return;
  }
  const spans: Array<[number, number]> = [];
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
      if (entry.uncompressedSize >= state.opts.ratioFloorBytes) {
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
      if (nestedZip && depth + 1 > state.opts.maxDepth) {
        archive.depth = Math.max(archive.depth, depth + 1); // deep enough to breach any sane policy; no need to open
        continue;
      }
      const fits =
        entry.uncompressedSize <= state.opts.maxNestedBytes &&
        entry.compressedSize <= state.opts.maxNestedBytes &&
        entry.uncompressedSize <= state.nestedBudget;
      if (!fits) {
        if (nestedZip) archive.depth = Math.max(archive.depth, depth + 1);
        if (archive.uninspected.length < 20) archive.uninspected.push(shown);
        continue;
      }
      const inner = await readEntry(zip, entry, state.opts.maxNestedBytes);
      if (!inner) {
        if (archive.uninspected.length < 20) archive.uninspected.push(shown);
        continue;
      }
      state.nestedBudget -= inner.length;
      const innerRead: ReadExclusive = async (start, end) => inner.subarray(start, end);
      if (isZipStart(inner)) {
        await inspectZip(innerRead, inner.length, depth + 1, state, file, `${shown}/`);
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
    archive.unreadable ??= `${prefix}${describe(error)}`;
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

/** Inflates one entry into memory, giving up (undefined) past `limit` bytes or on any error. */
function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return resolve(undefined);
      const chunks: Buffer[] = [];
      let total = 0;
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > limit) {
          stream.destroy();
          resolve(undefined);
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', () => resolve(undefined));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// OLE2 / Compound File Binary
// ---------------------------------------------------------------------------------------------

const OLE_SIGNATURE = Buffer.from('d0cf11e0a1b11ae1', 'hex');
const ENDOFCHAIN = 0xfffffffe;
const MAX_SECTOR = 0xfffffffa;
const MACRO_STORAGES = new Set(['vba', '_vba_project', '_vba_project_cur', 'macros']);
const MAX_DIRECTORY_SECTORS = 8192;
const MAX_DIFAT_SECTORS = 4096;

export interface OleFacts {
  /** Name of the storage or stream that shows a VBA project. */
  macroStorage?: string;
  /** Root class id of a Windows Installer package, patch or transform. */
  installer: boolean;
  /** A password-protected Office Open XML file is an OLE2 wrapper around this stream. */
  encryptedPackage?: string;
  unreadable?: string;
}

/**
 * Walks the directory of a compound file and looks at names and the root class id only.
 * Entries are read linearly rather than as a tree, so orphaned (hidden) entries count too.
 */
export async function inspectOle(read: ReadExclusive, size: number): Promise<OleFacts> {
  const facts: OleFacts = { installer: false };
  try {
    if (size < 512) throw new Error('shorter than an OLE2 header');
    const header = await read(0, 512);
    if (!header.subarray(0, 8).equals(OLE_SIGNATURE)) throw new Error('no OLE2 signature');
    const shift = header.readUInt16LE(0x1e);
    if (shift !== 9 && shift !== 12) throw new Error(`unsupported sector size 2^${shift}`);
    const sectorSize = 1 << shift;
    const perSector = sectorSize / 4;
    const firstDirectory = header.readUInt32LE(0x30);
    let difatSector = header.readUInt32LE(0x44);
    const difat: number[] = [];
    for (let i = 0; i < 109; i++) difat.push(header.readUInt32LE(0x4c + i * 4));

    const sector = async (id: number): Promise<Buffer> => {
      const start = (id + 1) * sectorSize;
      if (id > MAX_SECTOR || start + sectorSize > size) throw new Error(`sector ${id} outside the file`);
      return read(start, start + sectorSize);
    };
    let difatSectorsRead = 0;
    const fatSectorId = async (fatIndex: number): Promise<number> => {
      while (fatIndex >= difat.length) {
        if (difatSector > MAX_SECTOR || ++difatSectorsRead > MAX_DIFAT_SECTORS) throw new Error('FAT index beyond the DIFAT');
        const block = await sector(difatSector);
        for (let i = 0; i < perSector - 1; i++) difat.push(block.readUInt32LE(i * 4));
        difatSector = block.readUInt32LE((perSector - 1) * 4);
      }
      return difat[fatIndex] as number;
    };
    const fatCache = new Map<number, Buffer>();
    const nextSector = async (id: number): Promise<number> => {
      const fatIndex = Math.floor(id / perSector);
      let fat = fatCache.get(fatIndex);
      if (!fat) {
        fat = await sector(await fatSectorId(fatIndex));
        fatCache.set(fatIndex, fat);
      }
      return fat.readUInt32LE((id % perSector) * 4);
    };

    const seen = new Set<number>();
    let entryIndex = 0;
    for (let id = firstDirectory; id !== ENDOFCHAIN; id = await nextSector(id)) {
      if (id > MAX_SECTOR) throw new Error(`bad directory chain (${id})`);
      if (seen.has(id)) throw new Error('directory chain loops');
      if (seen.size >= MAX_DIRECTORY_SECTORS) throw new Error('directory too large');
      seen.add(id);
      const block = await sector(id);
      for (let at = 0; at + 128 <= block.length; at += 128, entryIndex++) {
        const type = block[at + 0x42];
        if (type !== 1 && type !== 2 && type !== 5) continue; // unused slot
        const nameLength = block.readUInt16LE(at + 0x40);
        const name = nameLength >= 2 && nameLength <= 64 ? block.toString('utf16le', at, at + nameLength - 2) : '';
        if (entryIndex === 0 && type === 5 && isInstallerClsid(block.subarray(at + 0x50, at + 0x60))) facts.installer = true;
        if (MACRO_STORAGES.has(name.toLowerCase())) facts.macroStorage ??= name;
        if (type === 2 && name === 'EncryptedPackage') facts.encryptedPackage ??= name;
      }
    }
  } catch (error) {
    facts.unreadable = describe(error);
  }
  return facts;
}

/** {000C1084-…-C000-000000000046} (MSI), {000C1086-…} (MSP patch), {000C1082-…} (MST transform). */
function isInstallerClsid(clsid: Buffer): boolean {
  const first = clsid[0];
  return (first === 0x84 || first === 0x86 || first === 0x82) && clsid.subarray(1).equals(Buffer.from('100c0000000000c000000000000046', 'hex'));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
