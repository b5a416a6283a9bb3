// The deploying organisation's header logo (STRONGROOM_BRAND_LOGO), read and checked when the
// configuration is loaded.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LOGO_MAX_BYTES, logoProblems, logoType, type LogoType } from '../domain/branding/brand.js';

/** STRONGROOM_BRAND_LOGO after its check: the file and what its content says it is. */
export interface BrandLogoSetting { file: string; type: LogoType }

/**
 * STRONGROOM_BRAND_LOGO: a PNG or SVG file, read now so a missing, oversized or mislabelled logo
 * stops the start with the other problems rather than showing a broken image to every visitor.
 */
export function parseBrandLogo(value: string | undefined): { setting: BrandLogoSetting | null; problems: string[] } {
  if (value === undefined || value.trim() === '') return { setting: null, problems: [] };
  const file = path.resolve(value.trim());
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return { setting: null, problems: [`${file} is not a file`] };
    size = stat.size;
  } catch {
    return { setting: null, problems: [`no file at ${file}`] };
  }
  if (size > LOGO_MAX_BYTES) return { setting: null, problems: [`the logo must be 200 KB or smaller (${file} is ${Math.ceil(size / 1024)} KB)`] };
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { setting: null, problems: [`cannot read ${file}: ${(err as Error).message}`] };
  }
  const problems = logoProblems(bytes, true);
  const type = logoType(bytes);
  return problems.length > 0 || type === null ? { setting: null, problems } : { setting: { file, type }, problems: [] };
}
