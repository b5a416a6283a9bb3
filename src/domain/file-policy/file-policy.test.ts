// The file policy as a pure function: name tricks, archive limits, type families, and properties
// that must hold for every combination of facts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ArchiveFacts, FileFacts } from './file-facts.js';
import { DEFAULT_FILE_POLICY, evaluateFile, filePolicy } from './file-policy.js';
import {
  ACTIVE_CONTENT_EXTENSIONS,
  EXECUTABLE_EXTENSIONS,
  extensionsOf,
  MACRO_EXTENSIONS,
  SCRIPT_EXTENSIONS,
  UNCHECKABLE_ARCHIVE_EXTENSIONS,
} from './file-types.js';

const BLOCKED = [...EXECUTABLE_EXTENSIONS, ...SCRIPT_EXTENSIONS, ...MACRO_EXTENSIONS, ...ACTIVE_CONTENT_EXTENSIONS, ...UNCHECKABLE_ARCHIVE_EXTENSIONS];

function facts(overrides: Partial<FileFacts> = {}): FileFacts {
  return { declaredName: 'file.bin', size: 100, textLike: false, containsVbaProject: false, oleHasMacros: false, ...overrides };
}

function archive(overrides: Partial<ArchiveFacts> = {}): ArchiveFacts {
  return {
    format: 'zip',
    entries: 3,
    expandedBytes: 3000,
    compressedBytes: 1000,
    maxRatio: 0,
    depth: 1,
    overlappingEntries: false,
    encryptedEntries: 0,
    entryExtensions: { txt: 'a.txt' },
    isOoxml: false,
    isOpenDocument: false,
    uninspected: [],
    incomplete: false,
    ...overrides,
  };
}

const ZIP = { ext: 'zip', mime: 'application/zip' };

describe('extensionsOf', () => {
  it.each([
    ['report.pdf', ['pdf']],
    ['REPORT.PDF', ['pdf']],
    ['archive.tar.gz', ['gz']],
    ['evil.exe.', ['exe']],
    ['evil.exe . . ', ['exe']],
    ['invoice\u202Efdp.exe', ['exe']], // displays as "invoiceexe.pdf"
    ['evil.e\u200Bxe', ['exe']],
    ['a.txt:evil.exe', ['txt', 'exe']],
    ['C:\\Users\\me\\evil.bat', ['bat']],
    ['folder/sub/file.csv', ['csv']],
    ['.bashrc', ['bashrc']],
    ['README', []],
    ['trailing.', []],
  ])('%j → %j', (name, expected) => {
    expect(extensionsOf(name)).toEqual(expected);
  });
});

describe('evaluateFile', () => {
  it('allows ordinary documents', () => {
    expect(evaluateFile(facts({ declaredName: 'a.pdf', detected: { ext: 'pdf', mime: 'application/pdf' } }))).toEqual({ allowed: true, notices: [] });
    expect(evaluateFile(facts({ declaredName: 'a.csv', textLike: true }))).toMatchObject({ allowed: true });
    expect(
      evaluateFile(facts({ declaredName: 'a.docx', detected: ZIP, archive: archive({ isOoxml: true, entryExtensions: { xml: '[Content_Types].xml' } }) })),
    ).toMatchObject({ allowed: true });
  });

  it('blocks by content whatever the name', () => {
    expect(evaluateFile(facts({ declaredName: 'a.pdf', executable: 'pe' }))).toMatchObject({ allowed: false, code: 'executable' });
    expect(evaluateFile(facts({ declaredName: 'a.txt', script: 'shebang', textLike: true }))).toMatchObject({ allowed: false, code: 'script' });
    expect(evaluateFile(facts({ declaredName: 'a.xlsx', containsVbaProject: true, macroEvidence: 'xl/vbaProject.bin' }))).toMatchObject({
      allowed: false,
      code: 'macro',
      reason: expect.stringContaining('(contains vbaProject.bin)'),
    });
    expect(evaluateFile(facts({ declaredName: 'a.xlsx', containsVbaProject: true, macroEvidence: 'xl/macrosheets/sheet1.xml' }))).toMatchObject({
      reason: expect.stringContaining('Excel 4.0 macro sheets'),
    });
  });

  it('applies each archive limit with its own code', () => {
    const limits = DEFAULT_FILE_POLICY.archive;
    const zip = (a: Partial<ArchiveFacts>): FileFacts => facts({ declaredName: 'a.zip', detected: ZIP, archive: archive(a) });
    expect(evaluateFile(zip({ entries: limits.maxEntries }))).toMatchObject({ allowed: true });
    expect(evaluateFile(zip({ entries: limits.maxEntries + 1 }))).toMatchObject({ code: 'archive_too_many_entries' });
    expect(evaluateFile(zip({ expandedBytes: limits.maxExpandedBytes + 1 }))).toMatchObject({ code: 'archive_bomb' });
    expect(evaluateFile(zip({ maxRatio: limits.maxRatio + 1 }))).toMatchObject({ code: 'archive_bomb' });
    expect(evaluateFile(zip({ overlappingEntries: true }))).toMatchObject({ code: 'archive_bomb' });
    expect(evaluateFile(zip({ depth: limits.maxDepth }))).toMatchObject({ allowed: true });
    expect(evaluateFile(zip({ depth: limits.maxDepth + 1 }))).toMatchObject({ code: 'archive_too_deep' });
    expect(evaluateFile(zip({ traversalEntry: '../x' }))).toMatchObject({ code: 'archive_traversal' });
    expect(evaluateFile(zip({ symlinkEntry: 'link' }))).toMatchObject({ code: 'archive_traversal' });
    expect(evaluateFile(zip({ unreadable: 'bad signature' }))).toMatchObject({ code: 'archive_unreadable' });
    expect(evaluateFile(zip({ unreadable: 'bad signature' }), filePolicy({ blockUnreadableArchives: false }))).toMatchObject({ allowed: true });
    expect(evaluateFile(zip({ entries: 50_000 }), filePolicy({ archive: { maxEntries: 100_000 } }))).toMatchObject({ allowed: true });
  });

  it('accepts the real-world variants of a declared type and rejects contradictions', () => {
    const named = (declaredName: string, detected?: { ext: string; mime: string }, more: Partial<FileFacts> = {}): FileFacts =>
      facts({ declaredName, ...(detected ? { detected } : {}), ...more });
    const ok = (f: FileFacts): void => void expect(evaluateFile(f)).toMatchObject({ allowed: true });
    const mismatch = (f: FileFacts): void => void expect(evaluateFile(f)).toMatchObject({ allowed: false, code: 'type_mismatch' });

    ok(named('photo.jpeg', { ext: 'jpg', mime: 'image/jpeg' }));
    ok(named('scan.TIF', { ext: 'tif', mime: 'image/tiff' }));
    ok(named('old.doc', { ext: 'cfb', mime: 'application/x-cfb' }));
    ok(named('old.doc', { ext: 'rtf', mime: 'application/rtf' }));
    ok(named('feed.xml', { ext: 'xml', mime: 'application/xml' }));
    ok(named('schema.xsd', undefined, { textLike: true }));
    ok(named('pack.zip', { ext: 'docx', mime: 'x' }, { archive: archive({ isOoxml: true }) }));
    ok(named('a.odt', ZIP, { archive: archive({ isOpenDocument: true }) }));
    ok(named('unknown.xyz', { ext: 'png', mime: 'image/png' })); // an extension we know nothing about claims nothing

    mismatch(named('photo.jpg', { ext: 'png', mime: 'image/png' }));
    mismatch(named('a.docx', { ext: 'xlsx', mime: 'x' }, { archive: archive({ isOoxml: true }) }));
    mismatch(named('a.docx', ZIP, { archive: archive({ isOoxml: false }) }));
    mismatch(named('a.pdf', undefined, { textLike: true }));
    mismatch(named('a.csv', undefined, { textLike: false }));
    mismatch(named('a.txt', { ext: 'gif', mime: 'image/gif' }));
    expect(evaluateFile(named('a.jpg', { ext: 'png', mime: 'image/png' }), filePolicy({ blockMismatchedType: false }))).toMatchObject({ allowed: true });
  });

  it('never allows a blocked extension, however the name is dressed up and whatever the content', () => {
    const nameArb = fc
      .tuple(
        fc.string({ maxLength: 12 }),
        fc.constantFrom(...BLOCKED),
        fc.boolean(), // upper-case
        fc.constantFrom('', '.', ' ', '. .', '\u200B'), // trailing noise Windows ignores
        fc.constantFrom('', 'C:\\temp\\', 'folder/', 'innocent.pdf:'),
      )
      .map(([stem, ext, upper, trailing, prefix]) => `${prefix}${stem.replace(/[\\/:]/g, '')}.${upper ? ext.toUpperCase() : ext}${trailing}`);
    const factsArb = fc.record({
      size: fc.nat(),
      textLike: fc.boolean(),
      detected: fc.option(fc.constantFrom({ ext: 'pdf', mime: 'application/pdf' }, { ext: 'png', mime: 'image/png' }, ZIP), { nil: undefined }),
    });
    fc.assert(
      fc.property(nameArb, factsArb, (declaredName, f) => {
        const decision = evaluateFile(facts({ declaredName, size: f.size, textLike: f.textLike, ...(f.detected ? { detected: f.detected } : {}) }));
        expect(decision.allowed).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('allows those same names once the organisation switches the matching rule off (so the property can fail)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...BLOCKED), (ext) => {
        const relaxed = filePolicy({ blockExecutables: false, blockScripts: false, blockMacros: false, blockActiveContent: false, blockMismatchedType: false });
        expect(evaluateFile(facts({ declaredName: `x.${ext}` }), relaxed).allowed).toBe(true);
      }),
    );
  });

  it('blocks any archive entry with a blocked extension (active content aside, see below)', () => {
    const insideArchives = BLOCKED.filter((ext) => !ACTIVE_CONTENT_EXTENSIONS.includes(ext));
    fc.assert(
      fc.property(fc.constantFrom(...insideArchives), fc.string({ maxLength: 8 }), (ext, dir) => {
        const entry = `${dir.replace(/[\\/.:]/g, '')}/payload.${ext}`;
        const decision = evaluateFile(facts({ declaredName: 'bundle.zip', detected: ZIP, archive: archive({ entryExtensions: { [ext]: entry } }) }));
        expect(decision.allowed).toBe(false);
      }),
    );
  });

  // Issue #10 item 9: each of these was accepted. Renamed variants are the ones Windows still opens as that type.
  it.each([
    ['msc', 'script'], ['one', 'active_content'], ['slk', 'active_content'], ['iqy', 'active_content'], ['wsb', 'script'],
    ['cab', 'uncheckable_archive'], ['xbap', 'executable'], ['py', 'script'], ['html', 'active_content'], ['svg', 'active_content'],
    ['htm', 'active_content'], ['xhtml', 'active_content'], ['mht', 'active_content'], ['svgz', 'active_content'], ['onepkg', 'active_content'],
    ['dqy', 'active_content'], ['pyw', 'script'], ['pyc', 'script'], ['jnlp', 'executable'], ['msu', 'executable'], ['diagcab', 'executable'],
    ['appcontent-ms', 'executable'], ['theme', 'executable'], ['mde', 'executable'], ['accde', 'executable'], ['ace', 'uncheckable_archive'],
    ['arj', 'uncheckable_archive'], ['lzh', 'uncheckable_archive'], ['ps2', 'script'], ['cdxml', 'script'], ['vsmacros', 'script'],
  ])('refuses .%s (%s), however it is dressed up', (ext, code) => {
    for (const name of [`report.${ext}`, `REPORT.${ext.toUpperCase()}`, `report.${ext}.`, `report.${ext} . `, `minutes.pdf:report.${ext}`, `report\u200B.${ext}`, `folder/report.${ext}`]) {
      const decision = evaluateFile(facts({ declaredName: name, textLike: true }));
      expect(decision, name).toMatchObject({ allowed: false, code });
      if (!decision.allowed) expect(decision.reason).toMatch(/^Blocked: [^\n]+\.$/);
    }
  });

  it('keeps the block lists free of overlaps, upper case and dots', () => {
    expect(new Set(BLOCKED).size).toBe(BLOCKED.length);
    for (const ext of BLOCKED) expect(ext).toMatch(/^[a-z0-9_-]+$/);
  });

  it('refuses active content by its own name only: Office and EPUB packages hold SVG and XHTML parts', () => {
    const docxWithSvg = facts({ declaredName: 'a.docx', detected: ZIP, archive: archive({ isOoxml: true, entryExtensions: { xml: '[Content_Types].xml', svg: 'word/media/image1.svg' } }) });
    expect(evaluateFile(docxWithSvg)).toMatchObject({ allowed: true });
    expect(evaluateFile(facts({ declaredName: 'site.zip', detected: ZIP, archive: archive({ entryExtensions: { cab: 'drivers/x.cab' } }) }))).toMatchObject({ allowed: false, code: 'uncheckable_archive' });
    expect(evaluateFile(facts({ declaredName: 'tools.zip', detected: ZIP, archive: archive({ entryExtensions: { py: 'tools/run.py' } }) }))).toMatchObject({ allowed: false, code: 'script' });
  });

  it('refuses live markup by its content under any name a browser opens as markup, and not under a text name', () => {
    const live = (declaredName: string, activeMarkup: FileFacts['activeMarkup'] = 'svg'): FileFacts => facts({ declaredName, textLike: true, activeMarkup });
    for (const name of ['drawing.xml', 'feed.rss', 'style.xsl', 'DRAWING.XML', 'page', 'page.dat', 'report.txt:x.xml']) {
      expect(evaluateFile(live(name)), name).toMatchObject({ allowed: false, code: 'active_content', reason: expect.stringMatching(/^Blocked: this file holds an SVG picture, which runs script when it is opened in a web browser/) });
    }
    expect(evaluateFile(live('data.xml', 'web-page'))).toMatchObject({ code: 'active_content', reason: expect.stringContaining('a web page') });
    expect(evaluateFile(live('data.xml', 'embedded-stylesheet'))).toMatchObject({ code: 'active_content', reason: expect.stringContaining('stylesheet') });
    // A text or Office name opens as that: the markup is shown, never run.
    for (const name of ['notes.txt', 'export.csv', 'old.xls', 'notes.md']) expect(evaluateFile(live(name)), name).toMatchObject({ allowed: true });
    // Plain XML is XML.
    expect(evaluateFile(facts({ declaredName: 'data.xml', textLike: true }))).toMatchObject({ allowed: true });
    // The organisation's switch for live content covers it.
    expect(evaluateFile(live('drawing.xml'), filePolicy({ blockActiveContent: false }))).toMatchObject({ allowed: true });
  });

  it('refuses encrypted content unless the organisation allows it, and then holds it for review', () => {
    const encrypted = facts({ declaredName: 'pay.docx', detected: { ext: 'cfb', mime: 'application/x-cfb' }, encryption: { format: 'office', evidence: 'OLE2 stream EncryptedPackage' } });
    expect(evaluateFile(encrypted)).toMatchObject({ allowed: false, code: 'archive_encrypted' });
    // Not a type mismatch: a protected .docx is OLE2 by design.
    expect(evaluateFile(encrypted, filePolicy({ allowEncryptedArchives: true }))).toEqual({ allowed: true, notices: [], review: { code: 'archive_encrypted', reason: expect.stringMatching(/^The Office document is protected by a password.*security admin/) } });
    const zip = facts({ declaredName: 'a.zip', detected: ZIP, archive: archive({ encryptedEntries: 2 }) });
    expect(evaluateFile(zip)).toMatchObject({ allowed: false, code: 'archive_encrypted' });
    expect(evaluateFile(zip, filePolicy({ allowEncryptedArchives: true }))).toMatchObject({ allowed: true, review: { code: 'archive_encrypted' } });
    // A bomb is a bomb, password or not.
    expect(evaluateFile(facts({ declaredName: 'a.zip', detected: ZIP, archive: archive({ encryptedEntries: 1, overlappingEntries: true }) }), filePolicy({ allowEncryptedArchives: true }))).toMatchObject({ code: 'archive_bomb' });
  });

  it('gives every refusal a sentence for the user', () => {
    const samples: FileFacts[] = [
      facts({ declaredName: 'a.exe' }),
      facts({ declaredName: 'a.vbs' }),
      facts({ declaredName: 'a.xlsm' }),
      facts({ declaredName: 'a', executable: 'msi' }),
      facts({ declaredName: 'a.zip', detected: ZIP, archive: archive({ traversalEntry: '../../x' }) }),
      facts({ declaredName: 'a.zip', detected: ZIP, archive: archive({ maxRatio: 1011 }) }),
      facts({ declaredName: 'a.pdf', detected: ZIP, archive: archive() }),
      facts({ declaredName: 'a.xml', textLike: true, activeMarkup: 'web-page' }),
    ];
    for (const sample of samples) {
      const decision = evaluateFile(sample);
      expect(decision.allowed).toBe(false);
      if (!decision.allowed) expect(decision.reason).toMatch(/^Blocked: [^\n]+\.$/);
    }
  });
});

describe('filePolicy', () => {
  it('fills in safe defaults and normalises extra extensions', () => {
    const policy = filePolicy({ extraBlockedExtensions: ['.DWG', 'Iso'], archive: { maxDepth: 1 } });
    expect(policy).toMatchObject({ blockExecutables: true, blockMacros: true, extraBlockedExtensions: ['dwg', 'iso'] });
    expect(policy.archive).toEqual({ ...DEFAULT_FILE_POLICY.archive, maxDepth: 1 });
    expect(Object.isFrozen(DEFAULT_FILE_POLICY)).toBe(true);
  });
});
