// The organisation brand's rules: colours dark enough for white header text (WCAG AA), names without
// control or text-direction characters, SVG recognised to be refused by name, and the overlay of an
// organisation's brand on the deployment's.
import { describe, expect, it } from 'vitest';
import { LOGO_REFUSALS, brandFor, displayName, headerColour, organisationLogoPrecheck } from './brand.js';

describe('headerColour', () => {
  it('takes #rrggbb dark enough for white text, in lower case', () => {
    expect(headerColour(' #1D70B8 ')).toEqual({ colour: '#1d70b8' });
    expect(headerColour('#000000')).toEqual({ colour: '#000000' });
    // #767676 is the lightest grey that passes 4.5:1 on white (4.54:1); #777777 fails (4.48:1).
    expect(headerColour('#767676')).toEqual({ colour: '#767676' });
    expect(headerColour('#777777')).toEqual({ problem: 'The header colour #777777 is too light: white text on it has a contrast ratio of 4.47:1, and it must be at least 4.5:1 to be readable. Choose a darker colour.' });
  });

  it('refuses anything that is not exactly #rrggbb, so nothing else reaches a stylesheet', () => {
    for (const bad of ['red', '#fff', '#1d70b8ff', '1d70b8', '#1d70b8;}', '#1d70bg', 'url(x)', '']) {
      expect(headerColour(bad)).toEqual({ problem: 'Enter the header colour as # followed by 6 hexadecimal digits, for example #1d70b8.' });
    }
  });
});

describe('displayName', () => {
  it('trims and collapses spaces; blank is none', () => {
    expect(displayName('  North   Shire Council ')).toEqual({ name: 'North Shire Council' });
    expect(displayName('   ')).toEqual({ name: null });
    expect(displayName('x'.repeat(80))).toEqual({ name: 'x'.repeat(80) });
  });

  it('refuses long names and control or direction characters', () => {
    expect(displayName('x'.repeat(81))).toEqual({ problem: 'The name in the header must be 80 characters or fewer.' });
    for (const bad of ['A\u0000B', 'A\u202eB', 'A\u2066B', 'A\u200bB', 'A\u0085B']) {
      expect(displayName(bad)).toEqual({ problem: 'The name in the header cannot contain control or text-direction characters.' });
    }
  });
});

describe('organisationLogoPrecheck', () => {
  it('names an SVG as the reason, and an empty or oversized file', () => {
    for (const svg of ['<svg/>', '<SVG\nonload="x">', 'junk first <svg xmlns="http://www.w3.org/2000/svg">', '\ufeff<?xml version="1.0"?><!-- c --><svg>']) {
      expect(organisationLogoPrecheck(Buffer.from(svg)), svg).toBe(LOGO_REFUSALS.svg);
    }
    // UTF-16 text too (its NULs between letters).
    expect(organisationLogoPrecheck(Buffer.from('\ufeff<svg/>', 'utf16le'))).toBe(LOGO_REFUSALS.svg);
    expect(organisationLogoPrecheck(Buffer.from('<svgx>'))).toBeNull();
    expect(organisationLogoPrecheck(Buffer.alloc(0))).toBe(LOGO_REFUSALS.empty);
    expect(organisationLogoPrecheck(Buffer.alloc(200 * 1024 + 1))).toBe(LOGO_REFUSALS.tooLarge);
    expect(organisationLogoPrecheck(Buffer.alloc(200 * 1024))).toBeNull();
  });
});

describe('brandFor', () => {
  const deployment = { serviceName: 'Records vault', organisationName: 'Shared Services', colour: '#ffdd00', logoUrl: '/branding/logo?v=1' };
  it('keeps the deployment’s brand without an organisation’s, and lays each part of one over it', () => {
    expect(brandFor(deployment, null)).toEqual(deployment);
    expect(brandFor(deployment, { displayName: 'Ambridge', colour: null, logoUrl: null })).toEqual({ ...deployment, organisationName: 'Ambridge' });
    expect(brandFor(deployment, { displayName: null, colour: '#0b0c0c', logoUrl: '/branding/organisation-logo/ab' }))
      .toEqual({ ...deployment, colour: '#0b0c0c', logoUrl: '/branding/organisation-logo/ab' });
  });
});
