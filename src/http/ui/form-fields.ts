// Reading the web interface's urlencoded forms: a field sent once or repeated (checkboxes, multiple
// selects), and which refusals a page shows on its form instead of as an error page.
import { DomainError } from '../../domain/errors.js';

/** A parsed form body: a field sent more than once (checkboxes) arrives as an array. */
export type Form = Record<string, string | string[] | undefined>;

/** The field's value (the first, when it was sent more than once); '' when it is absent. */
export const one = (v: string | string[] | undefined): string => (Array.isArray(v) ? v[0] ?? '' : v ?? '');

/** Every value the field was sent with. */
export const many = (v: string | string[] | undefined): string[] => (Array.isArray(v) ? v : v ? [v] : []);

/** INVALID and CONFLICT are the person's to put right: the page shows them on its form again. */
export const handled = (error: unknown): error is DomainError => error instanceof DomainError && ['INVALID', 'CONFLICT'].includes(error.code);
