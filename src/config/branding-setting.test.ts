// STRONGROOM_SERVICE_NAME, _BRAND_NAME, _BRAND_COLOUR and _BRAND_LOGO: checked at start, every problem at once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sr-brand-config-'));
  await writeFile(path.join(dir, 'logo.png'), PNG);
  await writeFile(path.join(dir, 'logo.svg'), '<!-- ours -->\n<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(path.join(dir, 'huge.png'), Buffer.concat([PNG, Buffer.alloc(200 * 1024)]));
  await writeFile(path.join(dir, 'page.svg'), '<html><script>alert(1)</script></html>');
  await writeFile(path.join(dir, 'empty.png'), Buffer.alloc(0));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env: { STRONGROOM_BACKUP: 'off', ...env } });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('branding settings', () => {
  it('default to the neutral Strongroom header', () => {
    expect(loadConfig({ env: {} })).toMatchObject({ serviceName: 'Strongroom', brandLogo: null });
    expect(loadConfig({ env: {} }).brandName).toBeUndefined();
    expect(loadConfig({ env: {} }).brandColour).toBeUndefined();
  });

  it('take the names, a #rrggbb colour and a PNG or SVG logo recognised by its content', () => {
    const config = loadConfig({ env: { STRONGROOM_SERVICE_NAME: 'Records vault', STRONGROOM_BRAND_NAME: ' Borsetshire Council ', STRONGROOM_BRAND_COLOUR: '#00703C', STRONGROOM_BRAND_LOGO: path.join(dir, 'logo.png') } });
    expect(config).toMatchObject({ serviceName: 'Records vault', brandName: 'Borsetshire Council', brandColour: '#00703C', brandLogo: { file: path.join(dir, 'logo.png'), type: 'image/png' } });
    expect(loadConfig({ env: { STRONGROOM_BRAND_LOGO: path.join(dir, 'logo.svg') } }).brandLogo).toEqual({ file: path.join(dir, 'logo.svg'), type: 'image/svg+xml' });
  });

  it('list every bad setting at once, each with a message a person can act on', () => {
    expect(problemsOf({ STRONGROOM_BRAND_COLOUR: 'red', STRONGROOM_BRAND_LOGO: path.join(dir, 'missing.png'), STRONGROOM_SERVICE_NAME: '   ' })).toEqual([
      'STRONGROOM_SERVICE_NAME: must not be empty',
      'STRONGROOM_BRAND_COLOUR: must be a colour written as #rrggbb (for example #00703c)',
      `STRONGROOM_BRAND_LOGO: no file at ${path.join(dir, 'missing.png')}`,
    ]);
  });

  it('refuse a logo over 200 KB, an empty one, a directory and one whose content is neither PNG nor SVG', () => {
    expect(problemsOf({ STRONGROOM_BRAND_LOGO: path.join(dir, 'huge.png') })).toEqual([`STRONGROOM_BRAND_LOGO: the logo must be 200 KB or smaller (${path.join(dir, 'huge.png')} is 201 KB)`]);
    expect(problemsOf({ STRONGROOM_BRAND_LOGO: path.join(dir, 'empty.png') })).toEqual(['STRONGROOM_BRAND_LOGO: the logo file is empty']);
    expect(problemsOf({ STRONGROOM_BRAND_LOGO: dir })).toEqual([`STRONGROOM_BRAND_LOGO: ${dir} is not a file`]);
    expect(problemsOf({ STRONGROOM_BRAND_LOGO: path.join(dir, 'page.svg') })).toEqual(['STRONGROOM_BRAND_LOGO: the logo must be a PNG or SVG image']);
  });

  it('refuse colours that are not exactly #rrggbb (nothing that could break out of a stylesheet)', () => {
    for (const bad of ['#fff', '00703c', '#00703c;}', '#00703cz', 'rgb(0,0,0)', '#00703c00']) {
      expect(problemsOf({ STRONGROOM_BRAND_COLOUR: bad })).toEqual(['STRONGROOM_BRAND_COLOUR: must be a colour written as #rrggbb (for example #00703c)']);
    }
  });
});
