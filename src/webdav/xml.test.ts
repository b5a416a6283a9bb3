// The WebDAV XML reader's work grows with the body, not with namespaces × elements. Counted, not timed: a
// body declaring 8,000 prefixes on its root over 8,000 elements once had every element copy every prefix
// (64 million map entries, seconds of the event loop for 200 KB); its scopes are now a chain.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseXml } from './xml.js';

afterEach(() => vi.restoreAllMocks());

describe('parseXml', () => {
  it('binds thousands of prefixes once, not once per element below them', () => {
    const n = 8000;
    const prefixes = Array.from({ length: n }, (_, i) => `xmlns:p${i}="urn:p"`).join(' ');
    const body = Buffer.from(`<D:propfind xmlns:D="DAV:" ${prefixes}><D:allprop/><D:include>${'<p0:b/>'.repeat(n)}</D:include></D:propfind>`);
    const set = vi.spyOn(Map.prototype, 'set');
    const root = parseXml(body)!;
    // A few map entries per declaration and per element (the parser's own among them), so linear in the body:
    // copying every prefix into every element made n × n, 64 million.
    expect(set.mock.calls.length).toBeLessThan(4 * n);
    expect(root).toMatchObject({ ns: 'DAV:', local: 'propfind' });
    const include = root.children[1] as { ns: string; local: string; children: { ns: string; local: string }[] };
    expect(include.children).toHaveLength(n);
    expect(include.children[n - 1]).toMatchObject({ ns: 'urn:p', local: 'b' });
  });
});
