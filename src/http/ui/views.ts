// Nunjucks for the web interface: GOV.UK Frontend's templates and macros plus our own views,
// found relative to this file so it works from src/ (vitest, tsx) and from dist/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { ukDateTime, ukDay } from '../../domain/uk-time.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(here, '..', '..', '..');
export const GOVUK_DIST = path.join(PROJECT_ROOT, 'node_modules', 'govuk-frontend', 'dist');
export const VIEWS_DIR = path.resolve(here, '..', 'views');
export const ASSETS_DIR = path.resolve(here, '..', 'assets');

const ROLE_NAMES: Record<string, string> = {
  member: 'Member', records_manager: 'Records manager', org_admin: 'Org admin', security_admin: 'Security admin', auditor: 'Auditor', dpo: 'Data protection officer',
};

const STATUS_TAGS: Record<string, { text: string; classes: string }> = {
  available: { text: 'Available', classes: 'govuk-tag--green' },
  pending_scan: { text: 'Being checked', classes: 'govuk-tag--yellow' },
  quarantined: { text: 'Quarantined', classes: 'govuk-tag--red' },
  disposed: { text: 'Disposed', classes: 'govuk-tag--grey' },
  clean: { text: 'Clean', classes: 'govuk-tag--green' },
  pending: { text: 'Being checked', classes: 'govuk-tag--yellow' },
  infected: { text: 'Malware', classes: 'govuk-tag--red' },
  blocked: { text: 'Blocked', classes: 'govuk-tag--red' },
  held: { text: 'Held for review', classes: 'govuk-tag--orange' },
  released: { text: 'Released', classes: 'govuk-tag--blue' },
  draft: { text: 'Draft', classes: 'govuk-tag--grey' },
  active: { text: 'Active', classes: 'govuk-tag--green' },
  // An arrangement's standing (domain/arrangements/standing.ts): what an active one means now.
  scheduled: { text: 'Not started yet', classes: 'govuk-tag--blue' },
  'in-force': { text: 'In force', classes: 'govuk-tag--green' },
  expired: { text: 'Past its end date', classes: 'govuk-tag--grey' },
  suspended: { text: 'Suspended', classes: 'govuk-tag--orange' },
  ended: { text: 'Ended', classes: 'govuk-tag--red' },
  deleted: { text: 'Deleted', classes: 'govuk-tag--grey' },
};

export function createViews(): nunjucks.Environment {
  const env = nunjucks.configure([VIEWS_DIR, GOVUK_DIST], { autoescape: true, throwOnUndefined: false, noCache: false });
  env.addFilter('bytes', (n: number) => {
    if (typeof n !== 'number') return '';
    if (n < 1024) return `${n} bytes`;
    const units = ['KB', 'MB', 'GB', 'TB'];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
  });
  // Times and days as the UK's clock shows them, as e-mails and the retention rules count them (domain/uk-time.ts).
  env.addFilter('date', (iso: string | null | undefined) => (iso ? ukDateTime(iso) : ''));
  env.addFilter('day', (iso: string | null | undefined) => (iso ? ukDay(iso) : ''));
  env.addFilter('pounds', (n: number) => `£${Math.round(n ?? 0).toLocaleString('en-GB')}`);
  env.addFilter('role', (r: string) => ROLE_NAMES[r] ?? r);
  const AREA_NAMES: Record<string, string> = { hr: 'HR', it: 'IT', revenues_benefits: 'Revenues and benefits' };
  env.addFilter('area', (a: string) => (a ? AREA_NAMES[a] ?? (a.charAt(0).toUpperCase() + a.slice(1)).replace(/_/g, ' ') : ''));
  env.addFilter('statusTag', (s: string) => STATUS_TAGS[s] ?? { text: s, classes: 'govuk-tag--grey' });
  env.addFilter('classificationTag', (c: string) => ({ text: c, classes: c === 'OFFICIAL-SENSITIVE' ? 'govuk-tag--purple' : 'govuk-tag--blue' }));
  return env;
}
