// The zip walk on its own: entry counts and names, traversal and links, overlapping entries,
// nesting, OOXML and OpenDocument markers, macro evidence and encrypted entries.
import { describe, expect, it } from 'vitest';
import type { ArchiveFacts, FileFacts } from '../../domain/file-policy/file-facts.js';
import { docxWithVba, oleWithVba, zipBomb, zipOf } from '../../../test/support/samples.js';
import { memoryReader } from './random-access.js';
import { inspectZip, isZipStart, type ZipLimits } from './zip.js';

const LIMITS: ZipLimits = { maxDepth: 4, maxNestedBytes: 8 * 1024 * 1024, nestedBudgetBytes: 64 * 1024 * 1024, ratioFloorBytes: 1024 * 1024, maxEntriesRead: 20_000 };

async function walk(data: Buffer, limits: Partial<ZipLimits> = {}): Promise<{ archive: ArchiveFacts; file: FileFacts }> {
  const file: FileFacts = { declaredName: 'x.zip', size: data.length, textLike: false, containsVbaProject: false, oleHasMacros: false };
  const archive = await inspectZip(memoryReader(data), data.length, { ...LIMITS, ...limits }, file);
  return { archive, file };
}

describe('inspectZip', () => {
  it('counts entries, sizes and extensions, and marks OOXML and OpenDocument packages', async () => {
    const { archive } = await walk(zipOf([{ name: '[Content_Types].xml', data: '<Types/>' }, { name: 'word/document.xml', data: '<w:document/>' }]));
    expect(archive).toMatchObject({ format: 'zip', entries: 2, depth: 1, isOoxml: true, isOpenDocument: false, entryExtensions: { xml: '[Content_Types].xml' } });
    const odt = await walk(zipOf([{ name: 'mimetype', data: 'application/vnd.oasis.opendocument.text', method: 'store' }, { name: 'content.xml', data: '<x/>' }]));
    expect(odt.archive).toMatchObject({ isOpenDocument: true, isOoxml: false });
  });

  it('reports the first traversal name and symbolic link it meets', async () => {
    const { archive } = await walk(zipOf([{ name: 'ok.txt', data: 'x' }, { name: '../evil', data: 'x' }, { name: 'link', data: '/etc', symlink: true }]));
    expect(archive).toMatchObject({ traversalEntry: '../evil', symlinkEntry: 'link' });
  });

  it('sees overlapping entries and large ratios without inflating anything', async () => {
    expect((await walk(zipBomb({ kind: 'overlap' }))).archive.overlappingEntries).toBe(true);
    const bomb = (await walk(zipBomb())).archive;
    expect(bomb.expandedBytes).toBe(200 * 1024 * 1024);
    expect(bomb.maxRatio).toBeGreaterThan(100);
  });

  it('opens nested zips and OLE files, naming where the macros are', async () => {
    const inner = await walk(zipOf([{ name: 'pack/report.docx', data: docxWithVba() }]));
    expect(inner.archive.depth).toBe(2);
    expect(inner.file).toMatchObject({ containsVbaProject: true, macroEvidence: expect.stringMatching(/^pack\/report\.docx\/.*vbaProject\.bin$/) });
    const legacy = await walk(zipOf([{ name: 'letter.doc', data: oleWithVba() }]));
    expect(legacy.file).toMatchObject({ oleHasMacros: true, macroEvidence: expect.stringMatching(/^letter\.doc \(OLE storage /) });
  });

  it('does not open what is too deep or too large, and says so', async () => {
    let archive = zipOf([{ name: 'deepest.txt', data: 'x' }]);
    for (let level = 2; level <= 3; level++) archive = zipOf([{ name: `level${level}.zip`, data: archive }]);
    expect((await walk(archive, { maxDepth: 1 })).archive.depth).toBe(2);
    const big = await walk(zipOf([{ name: 'inner.zip', data: zipOf([{ name: 'a', data: 'x'.repeat(5000) }]), method: 'store' }]), { maxNestedBytes: 100 });
    expect(big.archive).toMatchObject({ uninspected: ['inner.zip'], depth: 2 });
  });

  it('counts password-protected entries and reports damage as unreadable', async () => {
    expect((await walk(zipOf([{ name: 'a.txt', data: 'x', encrypted: true }]))).archive.encryptedEntries).toBe(1);
    expect((await walk(Buffer.from('PK\x03\x04 truncated'))).archive.unreadable).toBeDefined();
  });
});

describe('isZipStart', () => {
  it('knows a local header and an empty zip', () => {
    expect(isZipStart(zipOf([{ name: 'a', data: 'x' }]))).toBe(true);
    expect(isZipStart(Buffer.from('PK\x05\x06'))).toBe(true);
    expect(isZipStart(Buffer.from('PK'))).toBe(false);
  });
});
