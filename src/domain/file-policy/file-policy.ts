// The per-organisation file policy: which uploads are refused (programs, scripts, macros, disguised
// types, hostile archives) and the plain-English reason a council user is shown. Pure: facts in, decision out.
import type { ActiveMarkupKind, ArchiveFacts, EncryptionFacts, ExecutableKind, FileFacts, ScriptKind } from './file-facts.js';
import {
  blockedExtensionKind,
  describeDetection,
  extensionsOf,
  familyInfo,
  familyOfDetection,
  familyOfExtension,
  type BlockedExtensionKind,
  type FamilyKey,
} from './file-types.js';

export interface ArchiveLimits {
  /** Most entries an archive (with its nested archives) may hold. */
  maxEntries: number;
  /**
   * Most bytes it may expand to. clamd's MaxScanSize (default 2 GiB) counts the archive plus its
   * contents, so 1 GiB keeps any archive that passes this policy within what clamd scans in full.
   */
  maxExpandedBytes: number;
  /** Highest compression ratio of a single large entry; ordinary documents stay well under 100. */
  maxRatio: number;
  /** Deepest nesting of archives within archives (1 = a plain zip). */
  maxDepth: number;
}

export interface FilePolicy {
  blockExecutables: boolean;
  blockScripts: boolean;
  blockMacros: boolean;
  /** Refuse files whose name claims one known type while the content is another. */
  blockMismatchedType: boolean;
  /** HTML, SVG, OneNote, SYLK, web queries: documents that open as live content (see file-types.ts). */
  blockActiveContent: boolean;
  /**
   * Password-protected archives and Office files cannot be scanned, so they are refused unless the
   * organisation allows them; then they are stored quarantined until a security admin reviews them.
   */
  allowEncryptedArchives: boolean;
  /** A zip whose directory cannot be read may be crafted to confuse one tool and not another. */
  blockUnreadableArchives: boolean;
  /** Organisation-specific extensions to refuse as well (lower-case, no dot). */
  extraBlockedExtensions: readonly string[];
  archive: ArchiveLimits;
}

export const DEFAULT_FILE_POLICY: Readonly<FilePolicy> = Object.freeze({
  blockExecutables: true,
  blockScripts: true,
  blockMacros: true,
  blockMismatchedType: true,
  blockActiveContent: true,
  allowEncryptedArchives: false,
  blockUnreadableArchives: true,
  extraBlockedExtensions: Object.freeze([]) as readonly string[],
  archive: Object.freeze({
    maxEntries: 10_000,
    maxExpandedBytes: 1024 ** 3,
    maxRatio: 100,
    maxDepth: 3,
  }),
});

/** An organisation's stored settings over the safe defaults. */
export function filePolicy(overrides: Partial<Omit<FilePolicy, 'archive'>> & { archive?: Partial<ArchiveLimits> } = {}): FilePolicy {
  return {
    ...DEFAULT_FILE_POLICY,
    ...overrides,
    extraBlockedExtensions: (overrides.extraBlockedExtensions ?? []).map((e) => e.replace(/^\./, '').toLowerCase()),
    archive: { ...DEFAULT_FILE_POLICY.archive, ...overrides.archive },
  };
}

export type BlockCode =
  | 'executable'
  | 'script'
  | 'macro'
  | 'blocked_extension'
  | 'type_mismatch'
  | 'archive_bomb'
  | 'archive_too_many_entries'
  | 'archive_traversal'
  | 'archive_too_deep'
  | 'archive_encrypted'
  | 'archive_unreadable'
  | 'active_content'
  | 'uncheckable_archive';

/** Why an accepted file must still wait for a security admin before anyone may read it. */
export interface ReviewHold {
  code: 'archive_encrypted';
  reason: string;
}

export type FileDecision =
  /**
   * `notices`: things worth telling the uploader even though the file was accepted. `review`: the
   * file may be stored, but only in quarantine, until a security admin releases it.
   */
  | { allowed: true; notices: string[]; review?: ReviewHold }
  | { allowed: false; code: BlockCode; reason: string };

const EXECUTABLE_WORDS: Record<ExecutableKind, string> = {
  pe: 'a Windows program',
  elf: 'a Linux program',
  macho: 'a macOS program',
  msi: 'a Windows installer package',
  shortcut: 'a Windows shortcut that can start a program',
};

const SCRIPT_WORDS: Record<ScriptKind, string> = {
  shebang: 'a script that runs commands',
  registry: 'a Windows registry file that changes system settings',
  'compiled-help': 'a compiled help file that can run scripts',
};

const ACTIVE_MARKUP_WORDS: Record<ActiveMarkupKind, string> = {
  svg: 'an SVG picture',
  'web-page': 'a web page',
  'embedded-stylesheet': 'XML carrying a stylesheet that turns it into a web page',
};

const q = (s: string): string => `"${s.length > 120 ? `${s.slice(0, 117)}...` : s}"`;

function blocked(code: BlockCode, reason: string): FileDecision {
  return { allowed: false, code, reason };
}

/**
 * Decides whether a file may be stored. Checks run from the most to the least dangerous, so a
 * Windows program named "minutes.pdf" is reported as a program, not as a mere type mismatch.
 */
export function evaluateFile(facts: FileFacts, policy: FilePolicy = DEFAULT_FILE_POLICY): FileDecision {
  const name = facts.declaredName;

  for (const ext of extensionsOf(name)) {
    const kind = blockedExtensionKind(ext);
    if (kind && isBlockedKind(kind, policy)) return blockedByExtension(kind, ext);
    if (policy.extraBlockedExtensions.includes(ext)) {
      return blocked('blocked_extension', `Blocked: your organisation does not allow ".${ext}" files to be stored here.`);
    }
  }

  if (facts.executable && policy.blockExecutables) {
    return blocked('executable', `Blocked: this file is ${EXECUTABLE_WORDS[facts.executable]}, which cannot be stored here, whatever its name.`);
  }
  if (facts.script && policy.blockScripts) {
    return blocked('script', `Blocked: this file is ${SCRIPT_WORDS[facts.script]}, which cannot be stored here.`);
  }
  if (policy.blockMacros && (facts.containsVbaProject || facts.oleHasMacros)) {
    const evidence = describeMacroEvidence(facts);
    return blocked('macro', `Blocked: macro-enabled Office document${evidence}. Save it without macros (for example as .docx or .xlsx) and upload it again.`);
  }

  // Live content refused by its name above is refused by its content too, under any name a browser
  // would open it by: an SVG or web page saved as "drawing.xml", "page" or "page.dat" runs its script
  // when opened from a download folder just as "page.html" does. A text name (.txt, .csv) opens as text.
  if (facts.activeMarkup && policy.blockActiveContent && opensAsMarkup(name)) {
    const ext = extensionsOf(name)[0];
    return blocked('active_content', `Blocked: this file holds ${ACTIVE_MARKUP_WORDS[facts.activeMarkup]}, which runs script when it is opened in a web browser${ext ? ` (as a ".${ext}" file is)` : ''}, so it cannot be stored here. Save it as a PDF (or, for a picture, as PNG) and upload that.`);
  }

  const notices: string[] = [];
  if (facts.archive) {
    const archiveDecision = evaluateArchive(facts.archive, policy, notices);
    if (archiveDecision) return archiveDecision;
  }

  // Before the type check: an encrypted .docx is an OLE2 file, which is no reason to call it disguised.
  const encryption = encryptionOf(facts);
  let review: ReviewHold | undefined;
  if (encryption) {
    const what = ENCRYPTED_WORDS[encryption.format];
    if (!policy.allowEncryptedArchives) {
      return blocked('archive_encrypted', `Blocked: ${what} is protected by a password, so it cannot be checked for viruses. Upload it without the password; if you must store it protected, ask your security team.`);
    }
    review = { code: 'archive_encrypted', reason: `${capitalise(what)} is protected by a password, so it could not be checked for viruses. It is held in quarantine until a security admin reviews it.` };
  }

  if (policy.blockMismatchedType) {
    const mismatch = typeMismatch(facts);
    if (mismatch && !encryption) return blocked('type_mismatch', mismatch);
  }
  return review ? { allowed: true, notices, review } : { allowed: true, notices };
}

/**
 * Would a browser (or the system, handing it to one) open a file of this name as markup? With no
 * extension, an extension of the markup family (.xml, .xsl, .rss …), or one we know nothing about, yes:
 * a browser sniffs content it cannot type by name. A name of another known family opens as that.
 */
function opensAsMarkup(name: string): boolean {
  const extensions = extensionsOf(name);
  return extensions.length === 0 || extensions.some((ext) => {
    const family = familyOfExtension(ext);
    return family === undefined || family === 'markup';
  });
}

const ENCRYPTED_WORDS: Record<EncryptionFacts['format'], string> = {
  zip: 'the zip, or a file in it,',
  '7z': 'the 7-Zip archive',
  rar: 'the RAR archive',
  office: 'the Office document',
  contents: 'something inside this file',
};

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function encryptionOf(facts: FileFacts): EncryptionFacts | undefined {
  if (facts.encryption) return facts.encryption;
  if (facts.archive && facts.archive.encryptedEntries > 0) return { format: 'zip', evidence: `${facts.archive.encryptedEntries} password-protected entries` };
  return undefined;
}

function describeMacroEvidence(facts: FileFacts): string {
  const evidence = (facts.macroEvidence ?? '').toLowerCase();
  if (evidence.includes('vbaproject.bin')) return ' (contains vbaProject.bin)';
  if (evidence.includes('macrosheets/')) return ' (contains Excel 4.0 macro sheets)';
  if (facts.oleHasMacros) return ' (contains a VBA macro project)';
  return '';
}

function isBlockedKind(kind: BlockedExtensionKind, policy: FilePolicy): boolean {
  switch (kind) {
    case 'executable':
    case 'archive': // cabinets and their like are how programs travel past a scanner
      return policy.blockExecutables;
    case 'script':
      return policy.blockScripts;
    case 'macro':
      return policy.blockMacros;
    case 'active':
      return policy.blockActiveContent;
  }
}

function blockedByExtension(kind: BlockedExtensionKind, ext: string): FileDecision {
  switch (kind) {
    case 'executable':
      return blocked('executable', `Blocked: programs and installers (".${ext}" files) cannot be stored here, because they can run on a computer when opened.`);
    case 'script':
      return blocked('script', `Blocked: script files (".${ext}") cannot be stored here, because they can run commands on a computer when opened.`);
    case 'macro':
      return blocked('macro', `Blocked: macro-enabled Office document (".${ext}"). Save it without macros (for example as .docx or .xlsx) and upload it again.`);
    case 'active':
      return blocked('active_content', `Blocked: ".${ext}" files can run script or fetch commands when they are opened, so they cannot be stored here. Save it as a PDF (or, for a picture, as PNG) and upload that.`);
    case 'archive':
      return blocked('uncheckable_archive', `Blocked: ".${ext}" archives cannot be checked for viruses reliably, so they cannot be stored here. Upload the files inside it, or a .zip of them.`);
  }
}

function evaluateArchive(archive: ArchiveFacts, policy: FilePolicy, notices: string[]): FileDecision | undefined {
  const limits = policy.archive;
  if (archive.unreadable !== undefined && policy.blockUnreadableArchives) {
    return blocked('archive_unreadable', 'Blocked: the zip file is damaged or built in a way that cannot be checked safely. Create the zip again and upload it.');
  }
  if (archive.traversalEntry !== undefined) {
    return blocked('archive_traversal', `Blocked: the zip contains a file path that points outside its own folder (${q(archive.traversalEntry)}), a trick used to overwrite files when it is unpacked.`);
  }
  if (archive.symlinkEntry !== undefined) {
    return blocked('archive_traversal', `Blocked: the zip contains a link to another location (${q(archive.symlinkEntry)}), a trick used to write files outside its folder when it is unpacked.`);
  }
  if (archive.overlappingEntries) {
    return blocked('archive_bomb', 'Blocked: the zip reuses the same data for many files, which is how a "zip bomb" makes a small file expand enormously.');
  }
  if (archive.entries > limits.maxEntries) {
    return blocked('archive_too_many_entries', `Blocked: the zip holds ${count(archive.entries)}${archive.incomplete ? ' or more' : ''} files; the limit is ${count(limits.maxEntries)}.`);
  }
  if (archive.expandedBytes > limits.maxExpandedBytes) {
    return blocked('archive_bomb', `Blocked: the zip would expand to ${bytes(archive.expandedBytes)}; the limit is ${bytes(limits.maxExpandedBytes)}.`);
  }
  if (archive.maxRatio > limits.maxRatio) {
    return blocked('archive_bomb', `Blocked: a file in the zip expands to ${Math.round(archive.maxRatio)} times its packed size, which is typical of a "zip bomb" (the limit is ${limits.maxRatio}).`);
  }
  if (archive.depth > limits.maxDepth) {
    return blocked('archive_too_deep', `Blocked: the zip contains zips nested ${archive.depth} levels deep; the limit is ${limits.maxDepth}.`);
  }
  for (const [ext, entry] of Object.entries(archive.entryExtensions)) {
    const kind = blockedExtensionKind(ext);
    // Active content is refused by its own name only: Office and EPUB packages hold SVG and XHTML
    // parts by design, and nothing opens a part of a package in a browser.
    if (kind && kind !== 'active' && isBlockedKind(kind, policy)) {
      const what = kind === 'executable' ? 'a program' : kind === 'script' ? 'a script' : kind === 'macro' ? 'a macro-enabled Office document' : 'an archive that cannot be checked for viruses';
      return blocked(kind === 'archive' ? 'uncheckable_archive' : kind, `Blocked: the zip contains ${what} (${q(entry)}), which cannot be stored here.`);
    }
    if (policy.extraBlockedExtensions.includes(ext)) {
      return blocked('blocked_extension', `Blocked: the zip contains a ".${ext}" file (${q(entry)}), which your organisation does not allow.`);
    }
  }
  if (archive.uninspected.length > 0) {
    notices.push('Some archives inside the zip were too large to inspect here; the virus scanner still checks them.');
  }
  return undefined;
}

/** A sentence explaining the mismatch, or undefined when name and content agree (or we cannot tell). */
function typeMismatch(facts: FileFacts): string | undefined {
  if (facts.size === 0) return undefined; // an empty file is harmless whatever it is called
  const ext = extensionsOf(facts.declaredName)[0];
  if (ext === undefined) return undefined;
  const declared = familyOfExtension(ext);
  if (!declared) return undefined; // an extension we know nothing about claims nothing we can check
  const expected = familyInfo(declared);
  const detectedFamily = facts.detected ? familyOfDetection(facts.detected.ext) : undefined;
  const accepts = (family: FamilyKey | undefined): boolean =>
    family !== undefined && (family === declared || (expected.alsoAccepts ?? []).includes(family));

  if (accepts(detectedFamily)) return undefined;
  // Text has no magic bytes: undetected content that reads as text is what a text name promises.
  if (!facts.detected && facts.textLike && (accepts('text') || accepts('markup'))) return undefined;
  // A generic "zip" detection satisfies a zip-based format when the archive's structure confirms it.
  if (facts.detected?.ext === 'zip' && expected.zipBased && facts.archive && facts.archive.unreadable === undefined) {
    if (expected.zipBased === 'any') return undefined;
    if (expected.zipBased === 'ooxml' && facts.archive.isOoxml) return undefined;
    if (expected.zipBased === 'opendocument' && facts.archive.isOpenDocument) return undefined;
  }
  // Any zip-based format is still a zip, so a .zip name holding an Office package is honest.
  if (declared === 'zip' && facts.detected && facts.archive) return undefined;

  const actual = facts.detected ? describeDetection(facts.detected) : facts.textLike ? 'text' : 'not a type we recognise';
  const actualPhrase = actual === 'not a type we recognise' ? 'its content is not a type we recognise' : `its content is ${actual}`;
  return `Blocked: the file is named as ${expected.label} (".${ext}") but ${actualPhrase}. Save or export it again in its real format, or give it the right extension.`;
}

const count = (n: number): string => n.toLocaleString('en-GB');

function bytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value >= 10 ? 0 : 1)} ${units[unit]}`;
}
