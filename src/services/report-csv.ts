// The shared-services report as CSV, for spreadsheets and the LGA-style map.
import type { ArrangementsReport } from './arrangements.service.js';

export function reportCsv(report: ArrangementsReport): string {
  const esc = (v: string | number) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const lines = ['grouping,key,arrangements,partner_organisations,annual_saving_pounds'];
  for (const row of report.byServiceArea) lines.push(['service_area', row.key, row.arrangements, row.partnerOrganisations, row.annualSavingPounds].map(esc).join(','));
  for (const row of report.byRegion) lines.push(['region', row.key, row.arrangements, row.partnerOrganisations, row.annualSavingPounds].map(esc).join(','));
  lines.push(['total', 'all', report.totals.arrangements, report.totals.partnerOrganisations, report.totals.annualSavingPounds].map(esc).join(','));
  return `${lines.join('\n')}\n`;
}
