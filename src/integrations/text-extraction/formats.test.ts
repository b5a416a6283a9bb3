// Which parser a version gets, from the file policy's detected media type and, where that type is
// generic, the name.
import { describe, expect, it } from 'vitest';
import { formatOf } from './formats.js';

describe('formatOf', () => {
  it('follows the detected media type, not the name', () => {
    expect(formatOf('application/pdf', 'letter.docx')).toBe('pdf');
    expect(formatOf('image/tiff', 'scan.pdf')).toBe('image');
    expect(formatOf('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; charset=binary', 'x')).toBe('xlsx');
  });

  it('lets the name choose among text formats when the policy says text/plain', () => {
    expect(formatOf('text/plain', 'notice.html')).toBe('html');
    expect(formatOf('text/plain', 'papers.EML')).toBe('eml');
    expect(formatOf('text/plain', 'payments.csv')).toBe('text');
    // A name cannot turn text into a binary format's parser.
    expect(formatOf('text/plain', 'report.pdf')).toBe('text');
    expect(formatOf('text/plain', 'sheet.xlsx')).toBe('text');
  });

  it('uses the name for generic containers (an OLE file is an Outlook message when it says so)', () => {
    expect(formatOf('application/x-cfb', 'appeal.msg')).toBe('msg');
    expect(formatOf('application/zip', 'tenancy.docx')).toBe('docx');
    expect(formatOf('application/octet-stream', 'notes.odt')).toBe('odt');
    expect(formatOf('application/zip', 'archive.zip')).toBeNull();
  });

  it('reads nothing from types without text', () => {
    expect(formatOf('application/x-msdownload', 'setup.pdf')).toBeNull();
    expect(formatOf('video/mp4', 'clip.mp4')).toBeNull();
  });
});
