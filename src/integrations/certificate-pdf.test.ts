// The PDF paper copy: a real PDF (pdfkit) whatever the names hold (Welsh, emoji, markup, very long), the
// header row repeated over many pages of documents, and the facts an auditor needs printed on it.
import { describe, expect, it } from 'vitest';
import { makeLog } from '../../test/fixtures/audit/audit-log.js';
import { pdfText } from '../../test/support/pdf.js';
import { CERTIFICATE_FORMAT, DESTRUCTION_METHOD, type DestructionCertificate } from '../domain/records/certificate.js';
import { PdfCertificateRenderer, pdfSafe } from './certificate-pdf.js';

const log = makeLog(8);

function certificate(documents: number, names: { organisation: string; series: string; hold: string }): DestructionCertificate {
  return {
    format: CERTIFICATE_FORMAT, id: 'cert-0001', batchId: 'batch-0001', issuedAt: '2026-11-30T02:00:05.000Z',
    organisation: { id: 'org-1', name: names.organisation },
    series: [{ code: 'HR-03', title: names.series, trigger: 'process_complete', retainYears: 2, action: 'destroy', authority: 'ACAS code of practice '.repeat(6), revision: 1 }],
    documents: Array.from({ length: documents }, (_, i) => ({
      documentId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, seriesCode: 'HR-03', nameSha256: 'ab'.repeat(32), createdAt: '2020-01-01T00:00:00.000Z',
      triggerDate: '2024-06-01', dueAt: '2026-06-01', disposedAt: '2026-11-30T02:00:00.000Z', versionCount: 1, totalBytes: 10, outcome: 'destroyed' as const,
    })),
    dates: { created: { from: '2020-01-01T00:00:00.000Z', to: '2020-01-01T00:00:00.000Z' }, trigger: { from: '2024-06-01', to: '2024-06-01' }, due: { from: '2026-06-01', to: '2026-06-01' } },
    counts: { proposed: documents + 1, destroyed: documents, transferred: 0, extended: 0, heldAtExecution: 1, excluded: 0, gone: 0 },
    holdCheck: { checkedAt: '2026-11-30T02:00:00.000Z', heldAtExecution: [{ documentId: 'doc-held', holds: [{ id: 'h1', name: names.hold }] }], excludedWhenProposed: [] },
    method: DESTRUCTION_METHOD, authorisedBy: { userId: 'u1', name: 'Rita Manager', at: '2026-11-20T10:00:00.000Z' }, executedAt: '2026-11-30T02:00:00.000Z',
    proof: { origin: 'strongroom.test/audit', checkpoint: log.checkpoint(8), events: [] }, signature: 'unused by the renderer',
  };
}

async function render(cert: DestructionCertificate): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of new PdfCertificateRenderer({ compress: false }).pdf(cert, { jsonSha256: 'cd'.repeat(32), verifierKey: log.verifierKey })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('PdfCertificateRenderer', () => {
  it('draws the certificate with its id, counts, method, hold check and how to verify it', async () => {
    const pdf = await render(certificate(3, { organisation: 'Anytown Council', series: 'Disciplinary case files', hold: 'Public inquiry' }));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const text = pdfText(pdf);
    for (const fragment of ['Anytown Council', 'Certificate of destruction', 'cert-0001', 'Documents destroyed\n3', 'Proposed for disposal\n4', 'Kept by a legal hold at execution\n1',
      'Public inquiry', "Crypto-shredding: every version's data key destroyed; every stored copy deleted.", 'cd'.repeat(32), 'strongroom audit check CERT.json --key PUB', 'abababababababab']) {
      expect(text).toContain(fragment);
    }
    // Only a prefix of the name hash is printed; the JSON has all of it.
    expect(text).not.toContain('ab'.repeat(32));
  });

  it('survives hostile names and runs over many pages, repeating the table header', async () => {
    const pdf = await render(certificate(400, { organisation: 'Cyngor Sir Ynys Môn — Ŵ 🏛 <script>alert(1)</script>', series: `${'Very long title '.repeat(40)}\u202e`, hold: '"); DROP TABLE holds; --' }));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pages = (pdf.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length;
    expect(pages).toBeGreaterThan(8);
    const text = pdfText(pdf);
    expect(text.split('\n').filter((line) => line === 'Name SHA-256 (prefix)').length).toBeGreaterThan(8);
    expect(text).toContain('00000000-0000-4000-8000-000000000399');
    expect(text).toContain('"); DROP TABLE holds; --');
    // Outside what the standard fonts carry: the base letter, or '?'; the bidi override is dropped.
    expect(text).toContain('Cyngor Sir Ynys M\u00f4n \u2014 W ? <script>alert(1)</script>');
    expect(text).not.toContain('\u202e');
  });

  it('pdfSafe keeps Windows-1252 text and replaces the rest', () => {
    expect(pdfSafe('Caf\u00e9 \u2014 \u20ac5 \u201cok\u201d')).toBe('Caf\u00e9 \u2014 \u20ac5 \u201cok\u201d');
    expect(pdfSafe('\u0174y \u0175 \u0177 \u{1F3DB}\u202eevil\u0000')).toBe('Wy w y ?evil');
  });
});
