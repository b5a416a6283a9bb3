// The coarse kind of a file for the search "type" facet and filter, from the version's detected media
// type (the file policy's, never the name's).
import type { DocumentType } from './types.js';

const EXACT: Readonly<Record<string, DocumentType>> = {
  'application/pdf': 'pdf',
  'application/msword': 'word',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'word',
  'application/vnd.oasis.opendocument.text': 'word',
  'application/rtf': 'word',
  'application/vnd.ms-excel': 'spreadsheet',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'spreadsheet',
  'application/vnd.oasis.opendocument.spreadsheet': 'spreadsheet',
  'text/csv': 'spreadsheet',
  'message/rfc822': 'email',
  'application/vnd.ms-outlook': 'email',
};

export function documentTypeOf(mediaType: string): DocumentType {
  const base = mediaType.split(';')[0]!.trim().toLowerCase();
  const exact = EXACT[base];
  if (exact) return exact;
  if (base.startsWith('image/')) return 'image';
  if (base.startsWith('text/')) return 'text';
  return 'other';
}
