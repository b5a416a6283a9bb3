// The size pre-check counts what the parser will see, so markup cannot hide children from it.
import { describe, expect, it } from 'vitest';
import { SAML_LIMITS } from '../../domain/identity/saml.js';
import { overLimit } from './node-saml.protocol.js';

const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
const root = (inner: string) => b64(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</samlp:Response>`);

describe('overLimit', () => {
  it('takes 1,000 children of one element and refuses the 1,001st', () => {
    expect(overLimit(root('<x/>'.repeat(1000)))).toBeNull();
    expect(overLimit(root('<x/>'.repeat(1001)))).toBe('more than 1000 children of one element (samlp:Response)');
  });

  it('lets an Attribute have as many values as the elements allow, under any prefix', () => {
    expect(overLimit(root(`<saml:Attribute>${'<saml:AttributeValue>g</saml:AttributeValue>'.repeat(2990)}</saml:Attribute>`))).toBeNull();
    expect(overLimit(root(`<Attribute>${'<v/>'.repeat(2990)}</Attribute>`))).toBeNull();
    expect(overLimit(root(`<Attribute>${'<v/>'.repeat(3000)}</Attribute>`))).toBe('more than 3000 XML elements');
  });

  it('is not misled by a > in an attribute value, or an element named in a comment, CDATA or a processing instruction', () => {
    expect(overLimit(root('<x a=">"/>'.repeat(1001)))).toBe('more than 1000 children of one element (samlp:Response)');
    expect(overLimit(root(`<!-- <saml:Attribute> --><![CDATA[<saml:Attribute>]]><?pi <saml:Attribute>?>${'<x/>'.repeat(1001)}`))).toBe('more than 1000 children of one element (samlp:Response)');
  });

  it('refuses an end tag that closes no open element, and an attribute value that never ends', () => {
    expect(overLimit(root('<saml:Attribute></x>'))).toBe('an end tag that closes no open element');
    expect(overLimit(root('<x a="/>'))).toBe('an attribute value that never ends');
  });

  it('counts namespace declarations in scope, the attributes and the bytes', () => {
    const declare = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `xmlns:p${from + i}="urn:p"`).join(' ');
    // One declared on the Response, 31 on a child, 32 on a grandchild: 64 in scope; one more is refused.
    expect(overLimit(root(`<x ${declare(31)}><y ${declare(32, 31)}/></x>`))).toBeNull();
    expect(overLimit(root(`<x ${declare(31)}><y ${declare(33, 31)}/></x>`))).toBe('more than 64 namespace declarations in scope (y)');
    // Declarations on siblings are not in each other's scope.
    expect(overLimit(root(`<x ${declare(60)}/>`.repeat(100)))).toBeNull();
    expect(overLimit(root(`${'<y a="" b="" c="" d=""/>'.repeat(900)}<z ${Array.from({ length: 6400 }, (_, i) => `a${i}=""`).join(' ')}/>`))).toBe(`more than ${SAML_LIMITS.attributes} attributes`);
    expect(overLimit(root(`<x>${'a'.repeat(SAML_LIMITS.bytes)}</x>`))).toBe(`more than ${SAML_LIMITS.bytes} bytes of XML`);
  });

  it('refuses markup declarations (<!…>) but one DOCTYPE before the root element', () => {
    // Each once looked for a [ from where it stood to the end of the answer: 170,000 of them in 512 KiB held the event loop for a second.
    expect(overLimit(root('<!>'))).toBe('a markup declaration (<!…>) other than one DOCTYPE before the root element');
    expect(overLimit(root('<!a>'.repeat(2)))).toBe('a markup declaration (<!…>) other than one DOCTYPE before the root element');
    expect(overLimit(b64('<!DOCTYPE r><!DOCTYPE r><r/>'))).toBe('a markup declaration (<!…>) other than one DOCTYPE before the root element');
    expect(overLimit(b64(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "<x/>">]>${'<r>'}${'<x/>'.repeat(1001)}</r>`))).toBe('more than 1000 children of one element (r)');
  });
});
