// Extension lists and content families behind the file policy: which names run code, and which
// magic-byte types each familiar extension may legitimately hold.

// Sources, compared in November 2026: Microsoft's "Blocked attachments in Outlook" (level 1 list),
// the Exchange Online / Defender for Office 365 common attachment filter defaults, and Gmail's
// "File types blocked in Gmail". Each of those vendors blocks a name because opening it runs
// something; ours are grouped by why, so a refusal can tell the user why in a sentence. Left out on
// purpose: .pst and .tmp (Outlook blocks them for reasons of mail size, not code) and certificates
// (.cer/.crt/.der: public data IT teams keep; opening one only offers to install it, with a warning).

/** Programs and things Windows/macOS/Linux install or run when opened. */
export const EXECUTABLE_EXTENSIONS: readonly string[] = [
  'exe', 'ex_', 'dll', 'com', 'scr', 'pif', 'cpl', 'sys', 'drv', 'ocx', 'efi', 'vxd', 'lib', 'kext', 'dex',
  'msi', 'msp', 'mst', 'msu', 'msix', 'msixbundle', 'appx', 'appxbundle', 'appref-ms', 'application', 'gadget',
  'xbap', 'jnlp', 'jar', 'apk', 'xap', 'app', 'dmg', 'pkg', 'deb', 'rpm', 'run', 'elf', 'so', 'dylib', 'xll',
  'diagcab', 'diagcfg', 'diagpack', 'appcontent-ms', 'printerexport', 'theme', 'themepack', 'deskthemepack',
  'lnk', 'url', 'website', 'webpnp', 'scf', 'shb', 'shs', 'xnk', 'settingcontent-ms', 'library-ms', 'search-ms',
  'ins', 'isp', 'its', 'udl', 'ops', 'prf', 'pcd', 'plg', 'prg', 'fxp', 'osd', 'mcf', 'cnt', 'hlp', 'hpj', 'grp', 'bgi',
  // Access projects, compiled databases, add-ins and shortcuts: VBA that runs on opening.
  'mdb', 'mde', 'mda', 'mdt', 'mdw', 'mdz', 'adp', 'ade', 'accde', 'accda', 'accdr',
  'mad', 'maf', 'mag', 'mam', 'maq', 'mar', 'mas', 'mat', 'mau', 'mav', 'maw',
  // Disk images: a common way to smuggle programs past Windows' "downloaded from the internet" mark.
  'iso', 'img', 'vhd', 'vhdx',
];

/** Text that an interpreter runs as commands when double-clicked or sourced. */
export const SCRIPT_EXTENSIONS: readonly string[] = [
  'ps1', 'psm1', 'psd1', 'psdm1', 'ps1xml', 'ps2', 'ps2xml', 'psc1', 'psc2', 'pssc', 'cdxml',
  'msh', 'msh1', 'msh2', 'mshxml', 'msh1xml', 'msh2xml',
  'vb', 'vbs', 'vbe', 'vbp', 'bas', 'js', 'jse', 'mjs', 'cjs', 'wsf', 'wsh', 'wsc', 'ws', 'wsb', 'sct', 'hta', 'chm',
  'bat', 'cmd', 'sh', 'bash', 'zsh', 'csh', 'ksh', 'command', 'reg', 'inf', 'vbscript', 'applescript', 'scpt',
  'py', 'pyw', 'pyc', 'pyo', 'pyz', 'pyzw', 'pl', 'asp', 'aspx', 'nsh',
  // Management console snap-ins run script when opened (the 2024 "GrimResource" attacks).
  'msc', 'vsmacros', 'vsw',
];

/** Office formats whose whole purpose is to carry macros (documents, templates, add-ins). */
export const MACRO_EXTENSIONS: readonly string[] = [
  'docm', 'dotm', 'xlsm', 'xltm', 'xlam', 'xla', 'xlm', 'pptm', 'potm', 'ppsm', 'ppam', 'sldm', 'ppa',
];

/**
 * Files that look like documents but open as live content. HTML, SVG (which may hold <script>) and
 * the like run script when a browser opens them from a download folder, with that folder's rights;
 * OneNote pages carry embedded programs behind a "click to view" picture; SYLK, web queries and
 * data connections make Excel fetch and run formulas (DDE) from elsewhere.
 */
export const ACTIVE_CONTENT_EXTENSIONS: readonly string[] = [
  'html', 'htm', 'xhtml', 'xht', 'shtml', 'mht', 'mhtml', 'mhtm', 'htc', 'svg', 'svgz', 'asx',
  'one', 'onepkg', 'slk', 'iqy', 'dqy', 'rqy', 'oqy',
];

/**
 * Archive formats neither the file inspector nor every scanner can open reliably, which is why mail
 * gateways refuse them: Windows cabinets (installed by expand/DISM), ACE (the WinRAR CVE-2018-20250
 * family), ARJ and LHA/LZH.
 */
export const UNCHECKABLE_ARCHIVE_EXTENSIONS: readonly string[] = ['cab', 'ace', 'arj', 'lzh', 'lha', 'z'];

export type BlockedExtensionKind = 'executable' | 'script' | 'macro' | 'active' | 'archive';

export function blockedExtensionKind(ext: string): BlockedExtensionKind | undefined {
  if (EXECUTABLE_EXTENSIONS.includes(ext)) return 'executable';
  if (SCRIPT_EXTENSIONS.includes(ext)) return 'script';
  if (MACRO_EXTENSIONS.includes(ext)) return 'macro';
  if (ACTIVE_CONTENT_EXTENSIONS.includes(ext)) return 'active';
  if (UNCHECKABLE_ARCHIVE_EXTENSIONS.includes(ext)) return 'archive';
  return undefined;
}

// Invisible formatting characters (right-to-left override, zero-width spaces …) used to disguise
// names such as "invoice\u202Efdp.exe", which displays as "invoiceexe.pdf".
const FORMAT_CHARACTERS = /\p{Cf}/gu;

/**
 * The extensions a name can be opened as, lower-case, without the dot. Usually one; more when the
 * name hides a second one Windows would honour: "a.txt:evil.exe" (an NTFS stream) yields both.
 * Trailing dots and spaces are dropped because Windows drops them ("evil.exe. " opens as .exe).
 */
export function extensionsOf(name: string): string[] {
  const base = name.replace(FORMAT_CHARACTERS, '').split(/[\\/]/).pop() ?? '';
  const out = new Set<string>();
  for (const part of base.split(':')) {
    const trimmed = part.replace(/[\s.\0]+$/u, '');
    const dot = trimmed.lastIndexOf('.');
    if (dot > -1 && dot < trimmed.length - 1) out.add(trimmed.slice(dot + 1).toLowerCase());
  }
  return [...out];
}

/** The extension a user would see; '' when there is none. */
export function primaryExtension(name: string): string {
  const all = extensionsOf(name);
  return all[0] ?? '';
}

/**
 * Content families. Declared extensions and magic-byte results (file-type's `ext`) both map into
 * them; a declared extension is consistent with the content when the families agree.
 */
interface Family {
  label: string;
  /** Extensions users give files of this family. */
  extensions: readonly string[];
  /** Extra file-type results that also identify this family. */
  detectedAs?: readonly string[];
  /** Other families this extension is known to carry in the wild (e.g. "Excel" exports that are HTML). */
  alsoAccepts?: readonly FamilyKey[];
  /** Zip-based: a plain `zip` detection is fine when the archive's structure confirms it. */
  zipBased?: 'ooxml' | 'opendocument' | 'any';
}

export type FamilyKey =
  | 'pdf' | 'jpeg' | 'png' | 'gif' | 'bmp' | 'tiff' | 'webp' | 'heic' | 'ico' | 'psd'
  | 'zip' | 'gzip' | '7z' | 'rar' | 'tar' | 'bzip2' | 'xz'
  | 'word' | 'excel' | 'powerpoint' | 'visio' | 'opendocument-text' | 'opendocument-spreadsheet' | 'opendocument-presentation' | 'epub'
  | 'ole' | 'rtf'
  | 'mp3' | 'mp4' | 'quicktime' | 'wav' | 'avi' | 'matroska' | 'webm' | 'ogg' | 'flac' | 'm4a'
  | 'text' | 'markup';

const FAMILIES: Record<FamilyKey, Family> = {
  pdf: { label: 'a PDF document', extensions: ['pdf'] },
  jpeg: { label: 'a JPEG image', extensions: ['jpg', 'jpeg', 'jpe', 'jfif'] },
  png: { label: 'a PNG image', extensions: ['png'], detectedAs: ['apng'] },
  gif: { label: 'a GIF image', extensions: ['gif'] },
  bmp: { label: 'a bitmap image', extensions: ['bmp', 'dib'] },
  tiff: { label: 'a TIFF image', extensions: ['tif', 'tiff'] },
  webp: { label: 'a WebP image', extensions: ['webp'] },
  heic: { label: 'a HEIC photo', extensions: ['heic', 'heif'] },
  ico: { label: 'an icon', extensions: ['ico', 'cur'] },
  psd: { label: 'a Photoshop image', extensions: ['psd'] },
  zip: { label: 'a zip archive', extensions: ['zip'], zipBased: 'any' },
  gzip: { label: 'a gzip archive', extensions: ['gz', 'tgz'], detectedAs: ['tar.gz'] },
  '7z': { label: 'a 7-Zip archive', extensions: ['7z'] },
  rar: { label: 'a RAR archive', extensions: ['rar'] },
  tar: { label: 'a tar archive', extensions: ['tar'] },
  bzip2: { label: 'a bzip2 archive', extensions: ['bz2', 'tbz2'] },
  xz: { label: 'an xz archive', extensions: ['xz', 'txz'] },
  word: {
    label: 'a Word document',
    extensions: ['docx', 'dotx'],
    detectedAs: ['docm', 'dotm'],
    zipBased: 'ooxml',
  },
  excel: {
    label: 'an Excel workbook',
    extensions: ['xlsx', 'xltx', 'xlsb'],
    detectedAs: ['xlsm', 'xltm'],
    zipBased: 'ooxml',
  },
  powerpoint: {
    label: 'a PowerPoint presentation',
    extensions: ['pptx', 'ppsx', 'potx'],
    detectedAs: ['pptm', 'ppsm', 'potm'],
    zipBased: 'ooxml',
  },
  visio: { label: 'a Visio drawing', extensions: ['vsdx'], zipBased: 'ooxml' },
  'opendocument-text': { label: 'an OpenDocument text', extensions: ['odt', 'ott'], zipBased: 'opendocument' },
  'opendocument-spreadsheet': { label: 'an OpenDocument spreadsheet', extensions: ['ods', 'ots'], zipBased: 'opendocument' },
  'opendocument-presentation': { label: 'an OpenDocument presentation', extensions: ['odp', 'otp', 'odg', 'otg'], zipBased: 'opendocument' },
  epub: { label: 'an e-book', extensions: ['epub'], zipBased: 'any' },
  // Legacy Office and Outlook files are all OLE2 "compound files"; magic bytes cannot tell them apart.
  // Old council systems often save RTF, HTML or tab-separated text under .doc/.xls names.
  ole: {
    label: 'a legacy Office file',
    extensions: ['doc', 'dot', 'xls', 'xlt', 'ppt', 'pps', 'pot', 'msg', 'pub', 'vsd', 'mpp', 'wps'],
    detectedAs: ['cfb'],
    alsoAccepts: ['rtf', 'markup', 'text'],
  },
  rtf: { label: 'a Rich Text document', extensions: ['rtf'] },
  mp3: { label: 'an MP3 recording', extensions: ['mp3'] },
  mp4: { label: 'an MP4 video', extensions: ['mp4', 'm4v'], detectedAs: ['m4p', 'f4v'], alsoAccepts: ['quicktime', 'm4a'] },
  m4a: { label: 'an M4A recording', extensions: ['m4a'], detectedAs: ['m4b'], alsoAccepts: ['mp4'] },
  quicktime: { label: 'a QuickTime video', extensions: ['mov', 'qt'], alsoAccepts: ['mp4'] },
  wav: { label: 'a WAV recording', extensions: ['wav'] },
  avi: { label: 'an AVI video', extensions: ['avi'] },
  matroska: { label: 'a Matroska video', extensions: ['mkv'], alsoAccepts: ['webm'] },
  webm: { label: 'a WebM video', extensions: ['webm'], alsoAccepts: ['matroska'] },
  ogg: { label: 'an Ogg recording', extensions: ['ogg', 'oga', 'ogv', 'opus'], detectedAs: ['ogm', 'ogx', 'spx'] },
  flac: { label: 'a FLAC recording', extensions: ['flac'] },
  // Text has no magic bytes; file-type only recognises a few text formats.
  text: {
    label: 'text',
    extensions: ['txt', 'csv', 'tsv', 'tab', 'json', 'md', 'log', 'ics', 'vcf', 'eml', 'ini', 'yaml', 'yml', 'sql', 'geojson', 'srt', 'vtt'],
    detectedAs: ['ics', 'vcf', 'vtt'],
    alsoAccepts: ['markup'],
  },
  markup: {
    label: 'XML or HTML',
    extensions: ['xml', 'svg', 'html', 'htm', 'xhtml', 'xsd', 'xsl', 'xslt', 'kml', 'gml', 'rss', 'atom'],
    detectedAs: ['xml'],
    alsoAccepts: ['text'],
  },
};

const BY_EXTENSION = new Map<string, FamilyKey>();
const BY_DETECTION = new Map<string, FamilyKey>();
for (const [key, family] of Object.entries(FAMILIES) as [FamilyKey, Family][]) {
  for (const ext of family.extensions) BY_EXTENSION.set(ext, key);
  for (const ext of [...family.extensions, ...(family.detectedAs ?? [])]) BY_DETECTION.set(ext, key);
}

export function familyOfExtension(ext: string): FamilyKey | undefined {
  return BY_EXTENSION.get(ext);
}

export function familyOfDetection(detectedExt: string): FamilyKey | undefined {
  return BY_DETECTION.get(detectedExt);
}

export function familyInfo(key: FamilyKey): Readonly<Family> {
  return FAMILIES[key];
}

/** Human description of a detected type for messages ("a zip archive", "a Windows program"). */
export function describeDetection(detected: { ext: string; mime: string }): string {
  const family = familyOfDetection(detected.ext);
  if (family) return FAMILIES[family].label;
  switch (detected.ext) {
    case 'exe':
      return 'a Windows program';
    case 'elf':
      return 'a Linux program';
    case 'macho':
      return 'a macOS program';
    default:
      return `a ${detected.ext.toUpperCase()} file`;
  }
}
