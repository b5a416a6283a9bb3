// Unit tests for the WebDAV parsers: safe XML, the If header, request paths and Destination headers.
import { describe, expect, it } from 'vitest';
import { DavError } from '../../src/webdav/errors.js';
import { parseIfHeader, submittedTokens } from '../../src/webdav/if-header.js';
import { href, parseDavPath, parseDestination } from '../../src/webdav/resources.js';
import { parseXml, serializeNodes, type XmlElement } from '../../src/webdav/xml.js';

const status = (fn: () => unknown): number => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DavError) return error.status;
    throw error;
  }
  return 0;
};

describe('parseXml', () => {
  it('resolves namespaces and decodes only predefined entities and character references', () => {
    const root = parseXml(Buffer.from('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><x:a xmlns:x="urn:x">1 &amp; 2 &#x10000;</x:a><b/></D:prop></D:propfind>'))!;
    expect(root).toMatchObject({ ns: 'DAV:', local: 'propfind' });
    const prop = root.children[0] as XmlElement;
    expect(prop.children.map((c) => ('local' in c ? `${c.ns}|${c.local}` : ''))).toEqual(['urn:x|a', '|b']);
    expect(serializeNodes((prop.children[0] as XmlElement).children)).toBe('1 &amp; 2 \u{10000}');
  });

  it('keeps nested value namespaces when re-serialised', () => {
    const root = parseXml(Buffer.from('<t:v xmlns:t="urn:t"><foo xmlns="http://bar">bar</foo></t:v>'))!;
    expect(serializeNodes(root.children)).toBe('<foo xmlns="http://bar">bar</foo>');
  });

  it('refuses DTDs, unknown entities, malformed XML, bad namespaces and deep nesting', () => {
    for (const xml of [
      '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
      '<a>&nbsp;</a>',
      '<a><b></a>',
      '<x:a/>',
      '<x:a xmlns:x=""/>',
      `<a>${'<b>'.repeat(100)}${'</b>'.repeat(100)}</a>`,
      '<a>&#0;</a>',
    ]) expect(status(() => parseXml(Buffer.from(xml))), xml).toBe(400);
    expect(parseXml(Buffer.from('  '))).toBeNull();
    expect(status(() => parseXml(Buffer.alloc(1024 * 1024 + 1, 0x20)))).toBe(413);
  });
});

describe('parseIfHeader', () => {
  it('parses tagged and untagged lists, Not, tokens and etags', () => {
    const lists = parseIfHeader('<http://h/dav/a> (<urn:uuid:1> ["e1"]) (Not <DAV:no-lock> [W/"e2"])');
    expect(lists).toEqual([
      { resource: 'http://h/dav/a', conditions: [{ not: false, token: 'urn:uuid:1' }, { not: false, etag: '"e1"' }] },
      { resource: 'http://h/dav/a', conditions: [{ not: true, token: 'DAV:no-lock' }, { not: false, etag: '"e2"' }] },
    ]);
    expect([...submittedTokens(lists)]).toEqual(['urn:uuid:1']);
  });

  it('refuses malformed headers (such as one cut short)', () => {
    for (const h of ['', '(', '(<a>', '<x>', '(["e1")', 'junk', '()']) expect(status(() => parseIfHeader(h)), h).toBe(400);
  });
});

describe('paths', () => {
  it('decodes segments and refuses traversal and encoded separators', () => {
    expect(parseDavPath('/dav/org/a%20b/r%C3%A9sum%C3%A9.txt?x=1')).toEqual(['org', 'a b', 'résumé.txt']);
    expect(parseDavPath('/dav/')).toEqual([]);
    for (const p of ['/dav/a/../b', '/dav/a/%2e%2e/b', '/dav/a/%2E', '/dav/a%2fb', '/dav/a%5cb', '/dav/a%00', '/dav/%E0%A4%A']) expect(status(() => parseDavPath(p)), p).toBe(400);
    expect(status(() => parseDavPath('/davx/a'))).toBe(404);
  });

  it('accepts Destination on this host only', () => {
    expect(parseDestination('http://h:1/dav/o/c/x', 'h:1')).toEqual(['o', 'c', 'x']);
    expect(parseDestination('/dav/o/c/x', 'h:1')).toEqual(['o', 'c', 'x']);
    expect(status(() => parseDestination('http://evil/dav/o/c/x', 'h:1'))).toBe(502);
    expect(status(() => parseDestination('ftp://h:1/dav/o', 'h:1'))).toBe(400);
    expect(status(() => parseDestination(undefined, 'h:1'))).toBe(400);
  });

  it('encodes hrefs segment by segment', () => {
    expect(href(['org', 'a b', "it's"], true)).toBe('/dav/org/a%20b/it%27s/');
    expect(href([], true)).toBe('/dav/');
  });
});
