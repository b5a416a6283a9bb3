// Office documents: DOCX through mammoth, XLSX through exceljs (not `xlsx`, whose npm releases carry
// unfixed CVEs), ODT through its content.xml. Each archive passes the zip guard first, so the parser
// itself never inflates a bomb.
import ExcelJS from 'exceljs';
import mammoth from 'mammoth';
import { markupText } from './markup.js';
import type { Sink } from './sink.js';
import { readZipBounded } from './zip-guard.js';

export async function readDocx(input: Buffer, sink: Sink, maxUnzippedBytes: number): Promise<void> {
  await readZipBounded(input, maxUnzippedBytes);
  const result = await mammoth.extractRawText({ buffer: input });
  sink.text(null, result.value);
}

export async function readXlsx(input: Buffer, sink: Sink, maxUnzippedBytes: number): Promise<void> {
  await readZipBounded(input, maxUnzippedBytes);
  const workbook = new ExcelJS.Workbook();
  // exceljs's types ask for its own Buffer type; a Node Buffer is what it reads.
  await workbook.xlsx.load(input as unknown as ArrayBuffer);
  for (const sheet of workbook.worksheets) {
    const lines: string[] = [sheet.name];
    sheet.eachRow({ includeEmpty: false }, (row) => {
      const cells: string[] = [];
      row.eachCell({ includeEmpty: false }, (cell) => {
        const text = cell.text;
        if (text) cells.push(text);
      });
      if (cells.length > 0) lines.push(cells.join('\t'));
    });
    sink.text(null, lines.join('\n'));
  }
}

export async function readOdt(input: Buffer, sink: Sink, maxUnzippedBytes: number): Promise<void> {
  const entries = await readZipBounded(input, maxUnzippedBytes, (name) => name === 'content.xml');
  const content = entries.get('content.xml');
  if (!content) throw new Error('the ODT has no content.xml');
  sink.text(null, markupText(content.toString('utf8'), { xml: true }));
}
