// The import report: one CSV row per source entry, written as each file is settled, so even a run
// that is killed leaves the rows it got to. Fields are quoted and formula-safe (csvField): a file
// name from a share is arbitrary text and the report is opened in a spreadsheet.
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { csvLine } from '../../services/report-csv.js';

export type Outcome = 'imported' | 'skipped' | 'refused' | 'held' | 'failed' | 'would import' | 'would add version';

export interface ReportRow {
  path: string;
  outcome: Outcome;
  documentId: string | null;
  version: number | null;
  /** Why it was refused, held or failed; what a version or a skip was decided on. */
  detail: string;
}

export const REPORT_HEADER = ['path', 'outcome', 'document_id', 'version', 'detail'];

export class ReportWriter {
  private constructor(private readonly out: WriteStream) {}

  /** Opens (truncating) the report file; a file that cannot be written is a usage error, found before any work. */
  static async open(file: string): Promise<ReportWriter> {
    const out = createWriteStream(file, { flags: 'w' });
    await Promise.race([once(out, 'open'), once(out, 'error').then(([error]) => Promise.reject(error as Error))]);
    const writer = new ReportWriter(out);
    writer.out.write(csvLine(REPORT_HEADER));
    return writer;
  }

  add(row: ReportRow): void {
    this.out.write(csvLine([row.path, row.outcome, row.documentId, row.version, row.detail]));
  }

  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'finish');
  }
}
