// The logo adapter against real sharp in its parser process: PNG and JPEG come back re-encoded (no
// metadata, nothing appended after the image survives); an SVG, a GIF, a file named .png that is not
// one, a truncated image and a decompression bomb are each refused with their sentence.
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { LOGO_REFUSALS } from '../domain/branding/brand.js';
import { ContainedLogoImages } from './logo-images.js';

const logos = new ContainedLogoImages();
/** A PNG whose header declares `width` × `height` 8-bit grey pixels, with a few rows of real data after it. */
function declaredPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc((width + 1) * 4));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#1d70b8' } });

describe('ContainedLogoImages', { concurrent: true, timeout: 60_000 }, () => {
  it('re-encodes a PNG: same pixels and size, its text chunks and anything appended after the image gone', async () => {
    const png = await solid(64, 32).png().withMetadata({ exif: { IFD0: { Copyright: 'secret-exif' } } }).toBuffer();
    const polyglot = Buffer.concat([png, Buffer.from('<html><script>alert(1)</script></html>PK\x03\x04')]);
    const out = await logos.normalise(polyglot);
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect([out.type, out.width, out.height]).toEqual(['image/png', 64, 32]);
    expect(out.bytes.includes('secret-exif')).toBe(false);
    expect(out.bytes.includes('<script>')).toBe(false);
    const stats = await sharp(out.bytes).stats();
    expect(stats.channels.slice(0, 3).map((c) => Math.round(c.mean))).toEqual([0x1d, 0x70, 0xb8]);
  });

  it('re-encodes a JPEG as a JPEG, applying and dropping its EXIF orientation', async () => {
    const jpeg = await solid(40, 20).jpeg().withMetadata({ orientation: 6, exif: { IFD0: { Artist: 'secret-artist' } } }).toBuffer();
    const out = await logos.normalise(jpeg);
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect([out.type, out.width, out.height]).toEqual(['image/jpeg', 20, 40]);
    expect(out.bytes.includes('secret-artist')).toBe(false);
    expect((await sharp(out.bytes).metadata()).orientation).toBeUndefined();
  });

  it('refuses an SVG, whatever it starts with, and says why', async () => {
    for (const svg of ['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', '\uFEFF<?xml version="1.0"?><!-- a logo --><!DOCTYPE svg><svg onload="alert(1)"/>']) {
      expect(await logos.normalise(Buffer.from(svg))).toEqual({ ok: false, problem: LOGO_REFUSALS.svg });
    }
  });

  it('refuses other images and non-images by their content', async () => {
    const gif = await solid(10, 10).gif().toBuffer();
    const webp = await solid(10, 10).webp().toBuffer();
    for (const bytes of [gif, webp, Buffer.from('just some text, named logo.png'), Buffer.from('%PDF-1.7\n')]) {
      expect(await logos.normalise(bytes)).toEqual({ ok: false, problem: LOGO_REFUSALS.notImage });
    }
  });

  it('refuses an empty file and one over 200 KB before reading it', async () => {
    expect(await logos.normalise(Buffer.alloc(0))).toEqual({ ok: false, problem: LOGO_REFUSALS.empty });
    expect(await logos.normalise(Buffer.alloc(200 * 1024 + 1, 0x89))).toEqual({ ok: false, problem: LOGO_REFUSALS.tooLarge });
  });

  it('refuses a small file that declares a huge image (a decompression bomb) from its header alone', async () => {
    // 60,000 × 60,000 pixels declared in a file of a few hundred bytes: 3.6 GB once decoded.
    const bomb = declaredPng(60_000, 60_000);
    expect(bomb.length).toBeLessThan(1024);
    expect(await sharp(bomb, { limitInputPixels: false }).metadata()).toMatchObject({ width: 60_000, height: 60_000 });
    expect(await logos.normalise(bomb)).toEqual({ ok: false, problem: LOGO_REFUSALS.tooBig });
    expect(await logos.normalise(await solid(1001, 10).png().toBuffer())).toEqual({ ok: false, problem: LOGO_REFUSALS.tooBig });
    expect((await logos.normalise(await solid(1000, 1000).png().toBuffer())).ok).toBe(true);
  });

  it('refuses a truncated image as unreadable', async () => {
    const png = await solid(200, 100).png({ compressionLevel: 0 }).toBuffer();
    expect(await logos.normalise(png.subarray(0, Math.floor(png.length / 2)))).toEqual({ ok: false, problem: LOGO_REFUSALS.unreadable });
  });
});
