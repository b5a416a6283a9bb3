// What the file inspector learnt about an upload, as plain data: the input of the file policy.
// Gathering the facts (magic bytes, zip directory, OLE directory) is I/O and lives in integrations/.

/** Content that runs as a program when opened, whatever the file is called. */
export type ExecutableKind =
  | 'pe' // Windows .exe/.dll/.scr … (MZ + PE header)
  | 'elf' // Linux/Unix
  | 'macho' // macOS
  | 'msi' // Windows Installer (OLE2 with the MSI/MSP/MST class id)
  | 'shortcut'; // Windows .lnk (Shell Link header)

/** Text or container content that a computer runs as commands. */
export type ScriptKind =
  | 'shebang' // "#!/bin/sh" and friends
  | 'registry' // Windows .reg import file
  | 'compiled-help'; // .chm: HTML help that can run script

/**
 * Markup a browser runs script in when it opens the file, whatever the file is called: an SVG
 * document, a web page (HTML, or anything in the XHTML namespace: a browser runs an XHTML script
 * element wherever it sits in an XML document), or XML carrying its own XSLT stylesheet (which can
 * turn it into a web page).
 */
export type ActiveMarkupKind = 'svg' | 'web-page' | 'embedded-stylesheet';

export interface ArchiveFacts {
  format: 'zip';
  /** Entries counted, including those of nested archives that were opened. */
  entries: number;
  /** Sum of the uncompressed sizes the archive declares (nested archives included). */
  expandedBytes: number;
  /** Size of the archive itself; with expandedBytes gives the overall ratio. */
  compressedBytes: number;
  /** Highest uncompressed/compressed ratio of a single entry large enough to matter (0 if none). */
  maxRatio: number;
  /** 1 for a zip of plain files, 2 when it holds a zip, and so on. */
  depth: number;
  /** First entry name that escapes the extraction folder (`../`, `/abs`, `C:\`, `..\`). */
  traversalEntry?: string;
  /** First entry stored as a symbolic link (can redirect later entries outside the folder). */
  symlinkEntry?: string;
  /** Two entries share bytes: the "overlapping files" zip bomb. */
  overlappingEntries: boolean;
  /** Entries protected by a password: nobody, clamd included, can look inside them. */
  encryptedEntries: number;
  /** Lower-case extension of entries → the first entry name with that extension. */
  entryExtensions: Record<string, string>;
  /** The zip has a `[Content_Types].xml` at its root: an Office Open XML package. */
  isOoxml: boolean;
  /** The zip starts with an OpenDocument `mimetype` entry. */
  isOpenDocument: boolean;
  /** Nested archives too large to open during inspection; left to clamd. */
  uninspected: string[];
  /** Why the directory could not be read (corrupt, truncated, unsupported); undefined when it could. */
  unreadable?: string;
  /** Reading stopped early (entry cap); counts are lower bounds. */
  incomplete: boolean;
}

/** Content behind a password: no scanner, clamd included, can see what it holds. */
export interface EncryptionFacts {
  /** `contents`: the malware scanner met it inside the file, where the inspector does not look (a zip in a gzip or tar, a 7z that does not name its cipher). */
  format: 'zip' | '7z' | 'rar' | 'office' | 'contents';
  /** What showed it, e.g. "7zAES coder in the header" or "OLE2 stream EncryptedPackage". */
  evidence: string;
}

export interface FileFacts {
  /** The name the uploader gave, as typed (may hold paths, trailing dots, odd Unicode). */
  declaredName: string;
  size: number;
  /** Type identified by magic bytes; undefined for text and unknown formats. */
  detected?: { ext: string; mime: string };
  /** The first bytes look like text in some encoding (no NULs, few control characters). */
  textLike: boolean;
  executable?: ExecutableKind;
  script?: ScriptKind;
  /** Text or XML content a browser opens as live content (see ActiveMarkupKind). */
  activeMarkup?: ActiveMarkupKind;
  /** An Office Open XML package (possibly nested) carries a VBA project or macro sheets. */
  containsVbaProject: boolean;
  /** An OLE2 file (possibly nested) has a VBA / _VBA_PROJECT / Macros storage. */
  oleHasMacros: boolean;
  /** The entry or storage that proves macros, e.g. "word/vbaProject.bin". */
  macroEvidence?: string;
  archive?: ArchiveFacts;
  /** Password protection seen in a zip, 7z or RAR archive or an Office file (PDF is left to clamd). */
  encryption?: EncryptionFacts;
}
