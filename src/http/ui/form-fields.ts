// Reading the web interface's urlencoded forms: a field sent once or repeated (checkboxes, multiple
// selects), and which refusals a page shows on its form instead of as an error page.
import type { FastifyReply } from 'fastify';
import { DomainError } from '../../domain/errors.js';

/** A parsed form body: a field sent more than once (checkboxes) arrives as an array. */
export type Form = Record<string, string | string[] | undefined>;

/** The field's value (the first, when it was sent more than once); '' when it is absent. */
export const one = (v: string | string[] | undefined): string => (Array.isArray(v) ? v[0] ?? '' : v ?? '');

/** Every value the field was sent with. */
export const many = (v: string | string[] | undefined): string[] => (Array.isArray(v) ? v : v ? [v] : []);

/** INVALID and CONFLICT are the person's to put right: the page shows them on its form again. */
export const handled = (error: unknown): error is DomainError => error instanceof DomainError && ['INVALID', 'CONFLICT'].includes(error.code);

/**
 * The status a password form (a password change, a link that sets one, an account made with one) shows a
 * refusal on itself with, or undefined for the error page: 400 for the person's to put right (`handled`);
 * 503 with Retry-After for one that passes by itself (the password checks busy: services/password-check-gate.ts;
 * the database busy), whose sentence says to try again in a moment, so what was typed is not lost.
 */
export function passwordFormStatus(reply: FastifyReply, error: unknown): number | undefined {
  if (handled(error)) return 400;
  const retryAfter = error instanceof DomainError && error.code === 'UNAVAILABLE' ? error.details?.retryAfterSeconds : undefined;
  if (typeof retryAfter !== 'number') return undefined;
  reply.header('Retry-After', String(retryAfter));
  return 503;
}
