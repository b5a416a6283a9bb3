// Branding rules shared by the deployment's settings and each organisation's own: which colours and
// logos are acceptable, and the text colour that stays readable on a chosen header colour.

/** A header colour: exactly #rrggbb, so it can be written into a stylesheet without escaping. */
export const COLOUR_PATTERN = /^#[0-9a-fA-F]{6}$/;

/** The largest logo accepted, deployment or organisation: a header image, not a photograph. */
export const LOGO_MAX_BYTES = 200 * 1024;

export type LogoType = 'image/png' | 'image/svg+xml';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > PNG_SIGNATURE.length && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * PNG by its magic bytes; SVG when the text (after an optional BOM, XML declaration, comments and
 * doctype) opens with an <svg element. Anything else is not a logo, whatever its file name says.
 */
export function logoType(bytes: Uint8Array): LogoType | null {
  if (isPng(bytes)) return 'image/png';
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4096)).replace(/^\uFEFF/, '');
  const rest = head.replace(/^\s*(<\?xml[^>]*\?>\s*)?((<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)\s*)*/i, '');
  return /^<svg[\s>]/i.test(rest) ? 'image/svg+xml' : null;
}

/** The problems with a logo (empty when it is acceptable); `allowSvg` false for organisations' uploads. */
export function logoProblems(bytes: Uint8Array, allowSvg: boolean): string[] {
  if (bytes.length === 0) return ['the logo file is empty'];
  if (bytes.length > LOGO_MAX_BYTES) return [`the logo must be 200 KB or smaller (it is ${Math.ceil(bytes.length / 1024)} KB)`];
  const type = logoType(bytes);
  if (type === 'image/png') return [];
  if (type === 'image/svg+xml' && allowSvg) return [];
  return [allowSvg ? 'the logo must be a PNG or SVG image' : 'the logo must be a PNG image'];
}

/** WCAG relative luminance of a #rrggbb colour. */
function luminance(colour: string): number {
  const channel = (i: number): number => {
    const c = parseInt(colour.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * White or near-black text on the header colour, whichever contrasts more, so a council's pale brand
 * colour never leaves its name unreadable (and the pages keep passing their accessibility checks).
 */
export function textColourOn(background: string): '#ffffff' | '#0b0c0c' {
  return contrastRatio(background, '#ffffff') >= contrastRatio(background, '#0b0c0c') ? '#ffffff' : '#0b0c0c';
}

/** What a page header shows: the deployment's settings with an organisation's own laid over them. */
export interface Brand {
  /** The service's name in the header and the page title ("Strongroom" by default). */
  serviceName: string;
  /** The organisation's name beside the logo (the deployment's, or the signed-in person's council). */
  organisationName: string | null;
  /** #rrggbb header colour; null keeps GOV.UK Frontend's neutral header. */
  colour: string | null;
  /** Where the header's logo is served from (with a version so a changed logo is fetched again); null for none. */
  logoUrl: string | null;
}

// ---- An organisation's own brand, set by its org admin (services/branding.service.ts) ----

/** The longest organisation display name the header shows. */
export const DISPLAY_NAME_MAX = 80;

/** An organisation's logo must fit these before it is decoded (a small file can declare a huge image). */
export const ORGANISATION_LOGO_MAX_WIDTH = 1000;
export const ORGANISATION_LOGO_MAX_HEIGHT = 1000;

/** WCAG 2.x AA for normal text: the header's white text on the organisation's colour. */
export const MIN_HEADER_CONTRAST = 4.5;

/** What an organisation's logo may be stored as: re-encoded PNG or JPEG, never SVG (it can carry script). */
export type OrganisationLogoType = 'image/png' | 'image/jpeg';

/** The refusals an organisation's logo can meet, word for word (tests and docs quote them). */
export const LOGO_REFUSALS = {
  empty: 'The logo file is empty. Choose a PNG or JPEG image.',
  tooLarge: 'The logo must be 200 KB or smaller. Choose a smaller PNG or JPEG image.',
  svg: 'The logo cannot be an SVG image, because an SVG can carry scripts. Save it as a PNG or JPEG image and upload that.',
  notImage: 'The logo must be a PNG or JPEG image.',
  tooBig: `The logo must be at most ${ORGANISATION_LOGO_MAX_WIDTH} pixels wide and ${ORGANISATION_LOGO_MAX_HEIGHT} pixels high.`,
  unreadable: 'The logo could not be read as an image. Choose another PNG or JPEG file.',
} as const;

/** The problem with an organisation's logo that its bytes alone show (before any decoding), or null. */
export function organisationLogoPrecheck(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return LOGO_REFUSALS.empty;
  if (bytes.length > LOGO_MAX_BYTES) return LOGO_REFUSALS.tooLarge;
  // An SVG is text, which magic-byte sniffing cannot name: recognise it to say why it is refused.
  if (looksLikeSvg(bytes)) return LOGO_REFUSALS.svg;
  return null;
}

const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/**
 * Not a PNG or JPEG by its first bytes, and an <svg element anywhere near the start (self-closing,
 * after comments, a doctype or anything else). Only what it says about a refusal depends on this:
 * whatever it misses is refused anyway, as not a PNG or JPEG.
 */
function looksLikeSvg(bytes: Uint8Array): boolean {
  if (isPng(bytes) || JPEG_SIGNATURE.every((b, i) => bytes[i] === b)) return false;
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4096));
  return /<svg[\s/>]/i.test(head.replace(/\u0000/g, ''));
}

/**
 * The header colour an org admin typed, as stored (#rrggbb, lower case), or why it is refused. The
 * header text stays white on an organisation's colour, so the colour must be dark enough for it.
 */
export function headerColour(input: string): { colour: string } | { problem: string } {
  const colour = input.trim().toLowerCase();
  if (!COLOUR_PATTERN.test(colour)) return { problem: 'Enter the header colour as # followed by 6 hexadecimal digits, for example #1d70b8.' };
  const ratio = contrastRatio(colour, '#ffffff');
  if (ratio < MIN_HEADER_CONTRAST) {
    return {
      problem: `The header colour ${colour} is too light: white text on it has a contrast ratio of ${(Math.floor(ratio * 100) / 100).toFixed(2)}:1, `
        + `and it must be at least ${MIN_HEADER_CONTRAST}:1 to be readable. Choose a darker colour.`,
    };
  }
  return { colour };
}

/** The display name an org admin typed, trimmed (null when blank: the deployment's stays), or why it is refused. */
export function displayName(input: string): { name: string | null } | { problem: string } {
  const name = input.trim().replace(/\s+/g, ' ');
  if (name.length === 0) return { name: null };
  if (name.length > DISPLAY_NAME_MAX) return { problem: `The name in the header must be ${DISPLAY_NAME_MAX} characters or fewer.` };
  if (/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/.test(name)) return { problem: 'The name in the header cannot contain control or text-direction characters.' };
  return { name };
}

/** An organisation's own brand as stored: each part optional (null keeps the deployment's). */
export interface OrganisationBrand {
  organisationId: string;
  displayName: string | null;
  colour: string | null;
  logo: { bytes: Buffer; type: OrganisationLogoType; sha256: string; width: number; height: number } | null;
  updatedAt: string;
  updatedBy: string | null;
}

/** The deployment's brand with an organisation's laid over it, for that organisation's own staff. */
export function brandFor(deployment: Brand, own: Pick<OrganisationBrand, 'displayName' | 'colour'> & { logoUrl: string | null } | null): Brand {
  if (!own) return deployment;
  return {
    serviceName: deployment.serviceName,
    organisationName: own.displayName ?? deployment.organisationName,
    colour: own.colour ?? deployment.colour,
    logoUrl: own.logoUrl ?? deployment.logoUrl,
  };
}
