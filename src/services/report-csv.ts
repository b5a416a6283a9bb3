// CSV for spreadsheets: the shared-services report (and the LGA-style map), and any other report a
// command writes (the import report), and a subject access package's index.csv. One quoting rule for all of them.
import type { ArrangementsReport } from './arrangements.service.js';

/**
 * One CSV field (RFC 4180 quoting), safe to open in a spreadsheet: a text starting with = + - @, a
 * tab or a carriage return would be run as a formula (CSV injection; a file called "=HYPERLINK(…)"
 * is a perfectly good file name on a share), so it is prefixed with an apostrophe, which Excel and
 * LibreOffice show as text. Numbers are written as they are.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvLine = (fields: (string | number | null | undefined)[]): string => `${fields.map(csvField).join(',')}\r\n`;

export function reportCsv(report: ArrangementsReport): string {
  const lines = ['grouping,key,arrangements,partner_organisations,annual_saving_pounds'];
  const row = (fields: (string | number)[]) => fields.map(csvField).join(',');
  for (const r of report.byServiceArea) lines.push(row(['service_area', r.key, r.arrangements, r.partnerOrganisations, r.annualSavingPounds]));
  for (const r of report.byRegion) lines.push(row(['region', r.key, r.arrangements, r.partnerOrganisations, r.annualSavingPounds]));
  lines.push(row(['total', 'all', report.totals.arrangements, report.totals.partnerOrganisations, report.totals.annualSavingPounds]));
  return `${lines.join('\n')}\n`;
}
