// The problem documents errors become, and what the operator's log keeps that the person is not shown.
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import { problemFor } from './error-handler.js';

function request(): { request: FastifyRequest; logged: { level: string; fields: Record<string, unknown>; message: string }[] } {
  const logged: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void logged.push({ level, fields, message });
  return { request: { id: 'req-1', log: { warn: at('warn'), error: at('error') } } as unknown as FastifyRequest, logged };
}

describe('problemFor', () => {
  it('shows a person "could not" for an unavailable part and logs what the part said for the operator', () => {
    const cause = Object.assign(new Error('EACCES: permission denied, open \'/srv/blobs/layout\''), { code: 'EACCES' });
    const { request: r, logged } = request();
    const problem = problemFor(new DomainError('UNAVAILABLE', 'Could not read the blob layout record.', { cause }), r);
    expect(problem).toMatchObject({ status: 503, detail: 'Could not read the blob layout record.', requestId: 'req-1' });
    expect(JSON.stringify(problem)).not.toContain('/srv/blobs');
    expect(logged).toEqual([{ level: 'warn', fields: expect.objectContaining({ cause }), message: 'a part the request needs is unavailable' }]);
  });

  it('logs nothing for a refusal the person caused', () => {
    const { request: r, logged } = request();
    expect(problemFor(new DomainError('NOT_FOUND', 'No document with that id exists, or you do not have access to it.'), r)).toMatchObject({ status: 404 });
    expect(logged).toEqual([]);
  });
});
