// scripts/install-deps.sh installs by purpose: `make run` gets only what running needs (clamd, and
// tesseract and poppler for search's OCR), and the
// tests' browsers, WebDAV clients and 7-Zip (real password-protected archives) and the benchmark's Apache and rclone come only with their own targets.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/install-deps.sh', import.meta.url));
const wanted = (mode: string): string[] => execFileSync('bash', [script, mode, '--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
const TOOLCHAIN = new Set(['make', 'g++', 'python3', 'postgresql']); // listed only where missing or, for postgresql, when none answers

describe('install-deps.sh', () => {
  it('installs only what running needs for run', () => {
    expect(wanted('run').filter((p) => !TOOLCHAIN.has(p))).toEqual(['clamav-daemon', 'clamav', 'tesseract-ocr', 'tesseract-ocr-eng', 'poppler-utils', 'openssl', 'curl']);
    expect(wanted('run')).not.toContain('postgresql');
  });

  it('adds the tests\' tools (7-Zip included) for test, and Apache and rclone for bench', () => {
    const test = wanted('test').filter((p) => !TOOLCHAIN.has(p));
    expect(test).toEqual(['clamav-daemon', 'clamav', 'tesseract-ocr', 'tesseract-ocr-eng', 'poppler-utils', 'openssl', 'curl', 'chromium', 'litmus', 'rclone', '7zip']);
    expect(wanted('bench').filter((p) => !TOOLCHAIN.has(p))).toEqual(['clamav-daemon', 'clamav', 'tesseract-ocr', 'tesseract-ocr-eng', 'poppler-utils', 'openssl', 'curl', 'apache2', 'rclone']);
  });

  it('refuses an unknown mode', () => {
    const result = spawnSync('bash', [script, 'everything', '--list'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown mode 'everything'");
  });
});
