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
