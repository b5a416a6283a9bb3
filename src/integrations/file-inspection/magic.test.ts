// What the first bytes alone say: detected type, programs, scripts and text.
import { describe, expect, it } from 'vitest';
import { elfExecutable, pdf, peExecutable, png } from '../../../test/support/samples.js';
import { detect, executableKind, looksLikeText, scriptKind } from './magic.js';

describe('detect', () => {
  it('names common types from their magic bytes', async () => {
    expect(await detect(png())).toEqual({ ext: 'png', mime: 'image/png' });
    expect(await detect(pdf())).toEqual({ ext: 'pdf', mime: 'application/pdf' });
  });

  it('finds %PDF- after a printer header, and takes a UTF-16 byte-order mark for text, not audio', async () => {
    expect(await detect(Buffer.concat([Buffer.from('\x1b%-12345X@PJL\r\n'), pdf()]))).toEqual({ ext: 'pdf', mime: 'application/pdf' });
    expect(await detect(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Hello', 'utf16le')]))).toBeUndefined();
    expect(await detect(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('executableKind', () => {
  it('knows Windows and Linux programs', async () => {
    const pe = peExecutable();
    expect(executableKind(pe, await detect(pe), looksLikeText(pe))).toBe('pe');
    const elf = elfExecutable();
    expect(executableKind(elf, await detect(elf), looksLikeText(elf))).toBe('elf');
  });

  it('does not take a text file that starts "MZ" for a program', () => {
    const text = Buffer.from('MZ Smith, minutes of the meeting\n');
    expect(executableKind(text, undefined, looksLikeText(text))).toBeUndefined();
  });
});

describe('scriptKind', () => {
  it('finds a shebang, also after a UTF-8 byte-order mark', () => {
    expect(scriptKind(Buffer.from('#!/bin/sh\necho hi\n'), undefined)).toBe('shebang');
    expect(scriptKind(Buffer.from('\ufeff#! /usr/bin/env python\n'), undefined)).toBe('shebang');
    expect(scriptKind(Buffer.from('#!important note\n'), undefined)).toBeUndefined();
  });
});

describe('looksLikeText', () => {
  it('allows ordinary text and UTF-16, refuses NULs and many control characters', () => {
    expect(looksLikeText(Buffer.from('Name,Amount\r\nZoë,£5\r\n'))).toBe(true);
    expect(looksLikeText(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('x')]))).toBe(true);
    expect(looksLikeText(Buffer.from('a\0b'))).toBe(false);
    expect(looksLikeText(Buffer.from('\x01\x02\x03 abc'))).toBe(false);
  });
});
