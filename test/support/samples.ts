// Builds test files (EICAR, zips, Office documents, executables, bombs) at test time, deterministically,
// so the repository never holds a live-looking malware sample and every fixture is explained by its code.
import { constants as zlibConstants, crc32, deflateRawSync, deflateSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// Malware test strings
// ---------------------------------------------------------------------------------------------

/**
 * The EICAR anti-virus test file (68 bytes). Split in source so that scanners on developers'
 * machines do not quarantine this file; joined only in memory.
 */
export function eicar(): Buffer {
  return Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-', 'TEST-FILE!$H+H*'].join(''), 'latin1');
}

/** The marker matched by `Strongroom.Test.Sample` in assets/clamav/strongroom.ndb (see its README). */
export const TEST_SAMPLE_MARKER = ['STRONGROOM', 'TEST', 'SAMPLE', '9d4c1f7e', 'NOT', 'MALWARE'].join('-');

/** A harmless text file that our own signature database reports as `Strongroom.Test.Sample`. */
export function strongroomTestSample(): Buffer {
  return Buffer.from(`This file is a Strongroom scanner test.\n${TEST_SAMPLE_MARKER}\n`, 'utf8');
}

/** Deterministic pseudo-random bytes (xorshift32), for "clean" data that compresses badly. */
export function pseudoRandomBytes(length: number, seed = 0x5eed1234): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A tiny zip writer (store / deflate, hostile names, fake encryption, symlinks, lies)
// ---------------------------------------------------------------------------------------------

export interface ZipEntryInput {
  /** Written verbatim, so `../evil.txt`, `/etc/x` and `..\\x` are all possible. */
  name: string;
  data: Buffer | string;
  method?: 'store' | 'deflate';
  /** Sets the "traditional encryption" flag and a 12-byte header; the data itself is not encrypted. */
  encrypted?: boolean;
  /** Encrypted for real (traditional PKWARE encryption, "ZipCrypto", stored): nothing reads it without the password. */
  password?: string;
  /** Marks the entry as a Unix symbolic link (external attributes 0o120777). */
  symlink?: boolean;
  /** Pre-deflated data and its real uncompressed size (used for bombs, to avoid inflating 200 MB twice). */
  raw?: { deflated: Buffer; uncompressedSize: number; crc32: number };
}

const DOS_TIME = 0; // 00:00:00
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01: fixed so builds are byte-for-byte repeatable

export function zipOf(entries: readonly ZipEntryInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const utf8Flag = /[^\x20-\x7e]/.test(entry.name) ? 0x0800 : 0;
    let data: Buffer;
    let uncompressedSize: number;
    let crc: number;
    let method: number;
    if (entry.raw) {
      data = entry.raw.deflated;
      uncompressedSize = entry.raw.uncompressedSize;
      crc = entry.raw.crc32;
      method = 8;
    } else {
      const plain = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
      uncompressedSize = plain.length;
      crc = crc32(plain);
      method = entry.method === 'store' || entry.encrypted ? 0 : 8;
      data = method === 8 ? deflateRawSync(plain, { level: 9 }) : plain;
    }
    if (entry.password !== undefined) {
      method = 0;
      const plain = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
      data = zipCrypto(plain, entry.password, crc);
    } else if (entry.encrypted) {
      data = Buffer.concat([Buffer.alloc(12, 0xa5), data]);
    }
    const flags = utf8Flag | (entry.encrypted || entry.password !== undefined ? 0x0001 : 0);
    const versionMadeBy = entry.symlink ? (3 << 8) | 20 : 20;
    const external = entry.symlink ? (0o120777 << 16) >>> 0 : 0;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(uncompressedSize, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(versionMadeBy, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(uncompressedSize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(external, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + data.length;
  }
  const centralDirectory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDirectory, end]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crcByte = (crc: number, byte: number): number => (CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)) >>> 0;

/** Traditional PKWARE encryption (APPNOTE 6.1): a 12-byte header whose last byte checks the password, then the data. */
function zipCrypto(plain: Buffer, password: string, crc: number): Buffer {
  let k0 = 0x12345678;
  let k1 = 0x23456789;
  let k2 = 0x34567890;
  const update = (byte: number): void => {
    k0 = crcByte(k0, byte);
    k1 = (Math.imul((k1 + (k0 & 0xff)) >>> 0, 134775813) + 1) >>> 0;
    k2 = crcByte(k2, k1 >>> 24);
  };
  for (const byte of Buffer.from(password, 'latin1')) update(byte);
  const header = Buffer.concat([pseudoRandomBytes(11, crc), Buffer.from([(crc >>> 24) & 0xff])]);
  const out = Buffer.alloc(12 + plain.length);
  [...header, ...plain].forEach((byte, i) => {
    const t = (k2 | 2) & 0xffff;
    out[i] = byte ^ ((Math.imul(t, t ^ 1) >>> 8) & 0xff);
    update(byte);
  });
  return out;
}

/** A POSIX (ustar) tar of plain files. */
export function tarOf(entries: readonly { name: string; data: Buffer | string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, 'utf8');
    header.write('0000644\0', 100, 'ascii');
    header.write('0000000\0', 108, 'ascii');
    header.write('0000000\0', 116, 'ascii');
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write('00000000000\0', 136, 'ascii');
    header.write('        ', 148, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    parts.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/**
 * Raw deflate of `size` zero bytes without pushing `size` bytes through zlib: one mebibyte of zeros
 * is compressed with a sync flush (a non-final, byte-aligned block) and that block is repeated,
 * because every back-reference in it points at zeros whatever came before.
 */
export function deflatedZeros(size: number): { deflated: Buffer; uncompressedSize: number; crc32: number } {
  const block = 1024 * 1024;
  const whole = Math.floor(size / block);
  const rest = size % block;
  const parts: Buffer[] = [];
  if (whole > 0) {
    const one = deflateRawSync(Buffer.alloc(block), { level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    for (let i = 0; i < whole; i++) parts.push(one);
  }
  if (rest > 0) parts.push(deflateRawSync(Buffer.alloc(rest), { level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH }));
  parts.push(deflateRawSync(Buffer.alloc(0))); // the final (empty) block
  // CRC-32 of zeros, computed incrementally over one reused buffer.
  const zeros = Buffer.alloc(block);
  let crc = 0;
  for (let i = 0; i < whole; i++) crc = crc32(zeros, crc);
  if (rest > 0) crc = crc32(zeros.subarray(0, rest), crc);
  return { deflated: Buffer.concat(parts), uncompressedSize: size, crc32: crc };
}

/**
 * Archive bombs. `ratio`: one entry of `size` zeros (default 200 MiB, about 1000:1).
 * `entries`: `count` tiny files (default 20 000). `overlap`: many central-directory entries sharing
 * one local file (David Fifield's non-recursive bomb shape).
 */
export function zipBomb(options: { kind?: 'ratio' | 'entries' | 'overlap'; size?: number; count?: number } = {}): Buffer {
  const kind = options.kind ?? 'ratio';
  if (kind === 'ratio') {
    return zipOf([{ name: 'zeros.bin', data: '', raw: deflatedZeros(options.size ?? 200 * 1024 * 1024) }]);
  }
  if (kind === 'entries') {
    const count = options.count ?? 20_000;
    return zipOf(Array.from({ length: count }, (_, i) => ({ name: `f/${i}.txt`, data: 'x', method: 'store' as const })));
  }
  // overlap: a normal one-entry zip whose central directory lists the same local header many times.
  const single = zipOf([{ name: 'a.bin', data: '', raw: deflatedZeros(options.size ?? 10 * 1024 * 1024) }]);
  const eocd = single.length - 22;
  const cdSize = single.readUInt32LE(eocd + 12);
  const cdOffset = single.readUInt32LE(eocd + 16);
  const central = single.subarray(cdOffset, cdOffset + cdSize);
  const count = options.count ?? 50;
  const end = Buffer.from(single.subarray(eocd));
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cdSize * count, 12);
  return Buffer.concat([single.subarray(0, cdOffset), ...Array.from({ length: count }, () => central), end]);
}

// ---------------------------------------------------------------------------------------------
// OLE2 / Compound File Binary (legacy Office, MSI)
// ---------------------------------------------------------------------------------------------

export interface OleEntryInput {
  name: string;
  type: 'storage' | 'stream';
  /** Index into the entries array of the parent storage; omitted = the root. */
  parent?: number;
}

const FREESECT = 0xffffffff;
const ENDOFCHAIN = 0xfffffffe;
const FATSECT = 0xfffffffd;
const NOSTREAM = 0xffffffff;

/**
 * A minimal version-3 compound file (512-byte sectors): one FAT sector and a directory chain.
 * Streams are empty (size 0): enough for anything that reads names and class ids, as we do.
 */
export function ole(entries: readonly OleEntryInput[], options: { rootClsid?: Buffer } = {}): Buffer {
  const all = [{ name: 'Root Entry', type: 'root' as const, parent: -1 }, ...entries.map((e) => ({ ...e, parent: e.parent === undefined ? 0 : e.parent + 1 }))];
  const dirSectors = Math.max(1, Math.ceil(all.length / 4));
  if (dirSectors + 1 > 128) throw new Error('too many entries for this tiny writer');
  const header = Buffer.alloc(512);
  Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(header, 0);
  header.writeUInt16LE(0x003e, 0x18);
  header.writeUInt16LE(0x0003, 0x1a);
  header.writeUInt16LE(0xfffe, 0x1c);
  header.writeUInt16LE(9, 0x1e);
  header.writeUInt16LE(6, 0x20);
  header.writeUInt32LE(1, 0x2c); // FAT sectors
  header.writeUInt32LE(1, 0x30); // first directory sector
  header.writeUInt32LE(4096, 0x38);
  header.writeUInt32LE(ENDOFCHAIN, 0x3c);
  header.writeUInt32LE(ENDOFCHAIN, 0x44);
  header.writeUInt32LE(0, 0x4c); // DIFAT[0] = sector 0 holds the FAT
  for (let i = 1; i < 109; i++) header.writeUInt32LE(FREESECT, 0x4c + i * 4);

  const fat = Buffer.alloc(512, 0xff);
  fat.writeUInt32LE(FATSECT, 0);
  for (let s = 1; s <= dirSectors; s++) fat.writeUInt32LE(s === dirSectors ? ENDOFCHAIN : s + 1, s * 4);

  const dir = Buffer.alloc(dirSectors * 512);
  // Children of each storage hang off its child pointer as a right-sibling chain: a degenerate but
  // valid tree, which is all a reader needs.
  const childOf = new Map<number, number[]>();
  all.forEach((e, i) => {
    if (i === 0) return;
    childOf.set(e.parent, [...(childOf.get(e.parent) ?? []), i]);
  });
  all.forEach((e, i) => {
    const at = i * 128;
    const name = Buffer.from(`${e.name}\0`, 'utf16le');
    if (name.length > 64) throw new Error(`OLE name too long: ${e.name}`);
    name.copy(dir, at);
    dir.writeUInt16LE(name.length, at + 0x40);
    dir[at + 0x42] = e.type === 'root' ? 5 : e.type === 'storage' ? 1 : 2;
    dir[at + 0x43] = 1; // black
    const siblings = childOf.get(e.parent) ?? [];
    const next = siblings[siblings.indexOf(i) + 1];
    dir.writeUInt32LE(NOSTREAM, at + 0x44);
    dir.writeUInt32LE(i === 0 || next === undefined ? NOSTREAM : next, at + 0x48);
    dir.writeUInt32LE(childOf.get(i)?.[0] ?? NOSTREAM, at + 0x4c);
    if (i === 0 && options.rootClsid) options.rootClsid.copy(dir, at + 0x50);
    dir.writeUInt32LE(ENDOFCHAIN, at + 0x74);
  });
  return Buffer.concat([header, fat, dir]);
}

/** A legacy Word document with a VBA project (Macros/VBA/_VBA_PROJECT), as Word 97-2003 writes. */
export function oleWithVba(): Buffer {
  return ole([
    { name: 'WordDocument', type: 'stream' },
    { name: '\u0005SummaryInformation', type: 'stream' },
    { name: 'Macros', type: 'storage' },
    { name: 'VBA', type: 'storage', parent: 2 },
    { name: '_VBA_PROJECT', type: 'stream', parent: 3 },
    { name: 'dir', type: 'stream', parent: 3 },
    { name: 'PROJECT', type: 'stream', parent: 2 },
  ]);
}

/** A legacy Word document without macros. */
export function oleDocument(): Buffer {
  return ole([
    { name: 'WordDocument', type: 'stream' },
    { name: '1Table', type: 'stream' },
    { name: '\u0005SummaryInformation', type: 'stream' },
  ]);
}

/** The CLSID Windows Installer stamps on an .msi's root storage: {000C1084-0000-0000-C000-000000000046}. */
export const MSI_CLSID = Buffer.from('84100c0000000000c000000000000046', 'hex');

/** A Windows Installer package (OLE2 with the MSI class id on the root). */
export function msiPackage(): Buffer {
  return ole([{ name: '\u4840\u3b3f\u4577\u446c\u3b6a\u45e4\u4824', type: 'stream' }], { rootClsid: MSI_CLSID });
}

/** What Office puts in vbaProject.bin: an OLE2 file whose root holds a VBA storage. */
function vbaProjectBin(): Buffer {
  return ole([
    { name: 'VBA', type: 'storage' },
    { name: '_VBA_PROJECT', type: 'stream', parent: 0 },
    { name: 'dir', type: 'stream', parent: 0 },
    { name: 'ThisDocument', type: 'stream', parent: 0 },
    { name: 'PROJECT', type: 'stream' },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Office Open XML
// ---------------------------------------------------------------------------------------------

const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

function contentTypes(overrides: Record<string, string>, extraDefaults: Record<string, string> = {}): string {
  const defaults = { rels: 'application/vnd.openxmlformats-package.relationships+xml', xml: 'application/xml', ...extraDefaults };
  return (
    `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
    Object.entries(defaults).map(([ext, type]) => `<Default Extension="${ext}" ContentType="${type}"/>`).join('') +
    Object.entries(overrides).map(([part, type]) => `<Override PartName="${part}" ContentType="${type}"/>`).join('') +
    '</Types>'
  );
}

const ROOT_RELS = (target: string): string =>
  `${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
  `<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="${target}"/>` +
  '</Relationships>';

function wordPackage(options: { vba: boolean; macroEnabled: boolean; text: string }): Buffer {
  const mainType = options.macroEnabled
    ? 'application/vnd.ms-word.document.macroEnabled.main+xml'
    : 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
  const entries: ZipEntryInput[] = [
    { name: '[Content_Types].xml', data: contentTypes({ '/word/document.xml': mainType }, options.vba ? { bin: 'application/vnd.ms-office.vbaProject' } : {}) },
    { name: '_rels/.rels', data: ROOT_RELS('word/document.xml') },
    {
      name: 'word/document.xml',
      data: `${XML}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${options.text}</w:t></w:r></w:p></w:body></w:document>`,
    },
  ];
  if (options.vba) {
    entries.push(
      {
        name: 'word/_rels/document.xml.rels',
        data: `${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>`,
      },
      { name: 'word/vbaProject.bin', data: vbaProjectBin() },
    );
  }
  return zipOf(entries);
}

/** A minimal Word document (.docx). */
export function docx(text = 'Minutes of the licensing committee'): Buffer {
  return wordPackage({ vba: false, macroEnabled: false, text });
}

/** A .docx that nonetheless carries word/vbaProject.bin (a macro document wearing a .docx name). */
export function docxWithVba(): Buffer {
  return wordPackage({ vba: true, macroEnabled: false, text: 'Please enable content' });
}

/** A macro-enabled Word document (.docm). */
export function docm(): Buffer {
  return wordPackage({ vba: true, macroEnabled: true, text: 'Please enable content' });
}

/** A minimal Excel workbook (.xlsx) with one sheet. */
export function xlsx(): Buffer {
  return zipOf([
    {
      name: '[Content_Types].xml',
      data: contentTypes({
        '/xl/workbook.xml': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml',
        '/xl/worksheets/sheet1.xml': 'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml',
      }),
    },
    { name: '_rels/.rels', data: ROOT_RELS('xl/workbook.xml') },
    {
      name: 'xl/workbook.xml',
      data: `${XML}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      data: `${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
    },
    {
      name: 'xl/worksheets/sheet1.xml',
      data: `${XML}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>42</v></c></row></sheetData></worksheet>`,
    },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Other formats
// ---------------------------------------------------------------------------------------------

/** A one-page PDF with a correct cross-reference table. */
export function pdf(text = 'Council tax reminder'): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData) >>> 0);
  return Buffer.concat([length, typeAndData, crc]);
}

/** A 1×1 RGBA PNG. */
export function png(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const idat = deflateSync(Buffer.from([0, 0x1d, 0x70, 0xb8, 0xff])); // filter byte 0, then one pixel
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A CSV as Excel exports it on a UK machine: Windows-1252 (so "£" is the single byte 0xA3), CRLF. */
export function csv(): Buffer {
  return Buffer.from('Name,Ward,Amount\r\nA. Patel,Riverside,£12.50\r\nJ. Smith,Hillside,£7.00\r\n', 'latin1');
}

/** A minimal 64-bit Windows PE executable (MZ stub, PE header, one .text section holding `ret`). */
export function peExecutable(): Buffer {
  const out = Buffer.alloc(0x400);
  out.write('MZ', 0, 'latin1');
  out.writeUInt32LE(0x80, 0x3c); // e_lfanew
  out.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  let p = 0x80;
  out.write('PE\0\0', p, 'latin1');
  p += 4;
  out.writeUInt16LE(0x8664, p); // AMD64
  out.writeUInt16LE(1, p + 2); // sections
  out.writeUInt16LE(0xf0, p + 16); // size of optional header
  out.writeUInt16LE(0x0022, p + 18); // executable image, large-address aware
  p += 20;
  const opt = p;
  out.writeUInt16LE(0x20b, opt); // PE32+
  out.writeUInt32LE(0x200, opt + 4); // size of code
  out.writeUInt32LE(0x1000, opt + 16); // entry point
  out.writeUInt32LE(0x1000, opt + 20); // base of code
  out.writeBigUInt64LE(0x140000000n, opt + 24); // image base
  out.writeUInt32LE(0x1000, opt + 32); // section alignment
  out.writeUInt32LE(0x200, opt + 36); // file alignment
  out.writeUInt16LE(6, opt + 40); // OS version
  out.writeUInt16LE(6, opt + 48); // subsystem version
  out.writeUInt32LE(0x2000, opt + 56); // size of image
  out.writeUInt32LE(0x200, opt + 60); // size of headers
  out.writeUInt16LE(3, opt + 68); // console subsystem
  out.writeBigUInt64LE(0x100000n, opt + 72); // stack reserve
  out.writeBigUInt64LE(0x1000n, opt + 80);
  out.writeBigUInt64LE(0x100000n, opt + 88); // heap reserve
  out.writeBigUInt64LE(0x1000n, opt + 96);
  out.writeUInt32LE(16, opt + 108); // data directories
  const section = opt + 0xf0;
  out.write('.text', section, 'latin1');
  out.writeUInt32LE(0x10, section + 8); // virtual size
  out.writeUInt32LE(0x1000, section + 12); // virtual address
  out.writeUInt32LE(0x200, section + 16); // raw size
  out.writeUInt32LE(0x200, section + 20); // raw pointer
  out.writeUInt32LE(0x60000020, section + 36); // code, execute, read
  out[0x200] = 0xc3; // ret
  return out;
}

/** A minimal 64-bit Linux ELF header. */
export function elfExecutable(): Buffer {
  const out = Buffer.alloc(128);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(out, 0);
  out.writeUInt16LE(2, 16); // ET_EXEC
  out.writeUInt16LE(0x3e, 18); // x86-64
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(0x400078n, 24);
  out.writeBigUInt64LE(64n, 32);
  out.writeUInt16LE(64, 52);
  out.writeUInt16LE(56, 54);
  return out;
}

/** A shell script with a shebang line. */
export function shellScript(): Buffer {
  return Buffer.from('#!/bin/sh\necho "hello from a script"\n', 'utf8');
}

// ---------------------------------------------------------------------------------------------
// Password-protected containers (structure only: nothing is really encrypted)
// ---------------------------------------------------------------------------------------------

/** A password-protected .docx as Office saves it: an OLE2 wrapper with EncryptionInfo and EncryptedPackage. */
export function encryptedOfficeDocument(): Buffer {
  return ole([
    { name: 'EncryptionInfo', type: 'stream' },
    { name: 'EncryptedPackage', type: 'stream' },
    { name: '\u0006DataSpaces', type: 'storage' },
  ]);
}

/**
 * A 7z file whose header lists the 7zAES coder, as `7z a -p` writes with header compression off
 * (CRCs are zero: readers of structure, like ours, do not check them).
 */
export function sevenZipEncrypted(): Buffer {
  const packed = pseudoRandomBytes(64);
  // kHeader, kMainStreamsInfo, kPackInfo … kUnPackInfo, kFolder, 1 folder, 1 coder: id size 4, 06F10701 (7zAES).
  const header = Buffer.from([0x01, 0x04, 0x06, 0x00, 0x01, 0x09, 0x40, 0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x24, 0x06, 0xf1, 0x07, 0x01, 0x00, 0x00, 0x00, 0x00]);
  const start = Buffer.alloc(32);
  Buffer.from('377abcaf271c0004', 'hex').copy(start, 0);
  start.writeBigUInt64LE(BigInt(packed.length), 12);
  start.writeBigUInt64LE(BigInt(header.length), 20);
  return Buffer.concat([start, packed, header]);
}

/** A plain (unencrypted) 7z of the same shape, with the LZMA coder (030101) instead. */
export function sevenZipPlain(): Buffer {
  const file = sevenZipEncrypted();
  const at = file.indexOf(Buffer.from([0x24, 0x06, 0xf1, 0x07, 0x01]));
  Buffer.from([0x23, 0x03, 0x01, 0x01, 0x00]).copy(file, at);
  return file;
}

function rar5Vint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

function rar5Block(type: number, flags: number, body: Buffer, extra = Buffer.alloc(0)): Buffer {
  const fields = Buffer.concat([rar5Vint(type), rar5Vint(flags | (extra.length > 0 ? 0x01 : 0)), extra.length > 0 ? rar5Vint(extra.length) : Buffer.alloc(0), body, extra]);
  return Buffer.concat([Buffer.alloc(4), rar5Vint(fields.length), fields]);
}

/** RAR 5 archives: `rar a -hp` (encrypted headers) or `rar a -p` (a file entry with an encryption record). */
export function rar5(options: { encryptedHeaders?: boolean; encryptedFile?: boolean } = {}): Buffer {
  const signature = Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1');
  if (options.encryptedHeaders) return Buffer.concat([signature, rar5Block(4, 0, Buffer.alloc(24, 0x11)), pseudoRandomBytes(64)]);
  const main = rar5Block(1, 0, rar5Vint(0));
  const name = Buffer.from('salaries.xlsx');
  // File header body: file flags, unpacked size, attributes, compression info, host OS, name length, name.
  const fileBody = Buffer.concat([rar5Vint(0), rar5Vint(5), rar5Vint(0x20), rar5Vint(0), rar5Vint(0), rar5Vint(name.length), name]);
  const record = options.encryptedFile ? Buffer.concat([rar5Vint(3 + 48), rar5Vint(1), rar5Vint(0), rar5Vint(0), Buffer.alloc(48, 0x22)]) : Buffer.alloc(0);
  return Buffer.concat([signature, main, rar5Block(2, 0, fileBody, record), rar5Block(5, 0, rar5Vint(0))]);
}

/** RAR 4 archive with encrypted headers (`rar a -hp -ma4`): the main header's MHD_PASSWORD flag. */
export function rar4EncryptedHeaders(): Buffer {
  const signature = Buffer.from('Rar!\x1a\x07\x00', 'latin1');
  const main = Buffer.alloc(13);
  main.writeUInt16LE(0, 0);
  main[2] = 0x73;
  main.writeUInt16LE(0x0080, 3);
  main.writeUInt16LE(13, 5);
  return Buffer.concat([signature, main, pseudoRandomBytes(64)]);
}
