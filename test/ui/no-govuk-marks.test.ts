// Every page of the web interface wears the neutral header (issue #15 item 5), whichever page it is: each
// page template extends layout.njk, and no template — the layout, a page or a partial — draws GOV.UK's
// crown, logotype or Crown copyright, which only services on GOV.UK may use. The rendered header is
// checked in branding.int.test.ts; this keeps a new or changed page from slipping past those few pages.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const VIEWS = path.resolve(import.meta.dirname, '../../src/http/views');

/** GOV.UK Frontend's macros and classes that draw the crown or the logotype, and the words that go with them. */
const GOVUK_MARKS = [/govukHeader\b/, /govukFooter\b/, /govuk-header\b/, /govuk-logo/, /govuk-footer__crown/, /govuk-footer__licence/, /Crown copyright/i, /GOV\.UK(?! Frontend)/];

describe('the page templates', () => {
  it('every page extends the layout with the neutral header', async () => {
    const pages = (await readdir(VIEWS)).filter((f) => f.endsWith('.njk') && !f.startsWith('_') && f !== 'layout.njk');
    expect(pages.length).toBeGreaterThan(50);
    const outside = [];
    for (const page of pages) {
      const text = (await readFile(path.join(VIEWS, page), 'utf8')).replace(/\{#[\s\S]*?#\}/g, '').trimStart();
      if (!text.startsWith('{% extends "layout.njk" %}')) outside.push(page);
    }
    expect(outside).toEqual([]);
  });

  it('none draws GOV.UK\'s crown, logotype or Crown copyright', async () => {
    const found: string[] = [];
    for (const file of (await readdir(VIEWS)).filter((f) => f.endsWith('.njk'))) {
      // Template comments may explain why the marks are absent; only what is rendered counts.
      const text = (await readFile(path.join(VIEWS, file), 'utf8')).replace(/\{#[\s\S]*?#\}/g, '');
      for (const mark of GOVUK_MARKS) if (mark.test(text)) found.push(`${file}: ${mark.source}`);
    }
    expect(found).toEqual([]);
  });
});
