// Which parser reads which media type. The detected media type decides (the file policy's, not the
// name's); the name's extension only breaks ties the sniffer cannot (CSV and plain text look alike).

export type FormatKind = 'pdf' | 'docx' | 'xlsx' | 'odt' | 'eml' | 'msg' | 'html' | 'text' | 'image';

const BY_MEDIA_TYPE: Record<string, FormatKind> = {
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.oasis.opendocument.text': 'odt',
  'message/rfc822': 'eml',
  'application/vnd.ms-outlook': 'msg',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/plain': 'text',
  'text/csv': 'text',
  'text/markdown': 'text',
  'image/png': 'image',
  'image/jpeg': 'image',
  'image/tiff': 'image',
};

const BY_EXTENSION: Record<string, FormatKind> = {
  pdf: 'pdf', docx: 'docx', xlsx: 'xlsx', odt: 'odt', eml: 'eml', msg: 'msg', html: 'html', htm: 'html',
  txt: 'text', csv: 'text', md: 'text', png: 'image', jpg: 'image', jpeg: 'image', tif: 'image', tiff: 'image',
};

/** The parser for a media type, or null when Strongroom does not read that type's text. */
export function formatOf(mediaType: string, name: string): FormatKind | null {
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  const byType = BY_MEDIA_TYPE[type];
  // The file policy calls any text-like file text/plain (an e-mail, an HTML page): its name says which text format.
  if (byType === 'text') {
    const named = BY_EXTENSION[name.toLowerCase().split('.').pop() ?? ''];
    if (named === 'eml' || named === 'html') return named;
  }
  if (byType) return byType;
  // Generic types (a sniffer that only saw "some zip" or "some bytes") fall back to the name.
  if (type === 'application/octet-stream' || type === 'application/zip' || type === 'application/x-cfb' || type === '') {
    const extension = name.toLowerCase().split('.').pop() ?? '';
    return BY_EXTENSION[extension] ?? null;
  }
  return null;
}
