// Real password-protected archives, made at test time by 7-Zip itself (Debian 12's `7zip` package,
// installed by `scripts/install-deps.sh test`), so the inspector and clamd are tested against what
// people actually upload rather than only hand-made headers. A few hundred bytes each; made once
// per test file, in a temporary directory that is removed at once.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarOf, zipOf } from './samples.js';

/** Debian 12's `7zip` package installs `7zz`; p7zip-full's `7z` takes the same switches. */
const SEVEN_ZIP_COMMANDS = ['7zz', '7z'];

export const ARCHIVE_PASSWORD = 'infected';

export interface RealArchives {
  /** `7z a -p`: one small file; the header is left plain, so it names the 7zAES coder. */
  encryptedContent: Buffer;
  /** `7z a -p`: forty files in one solid block; 7-Zip LZMA-packs the header, which hides the coder list. */
  encryptedSolid: Buffer;
  /** `7z a -p -mhe=on`: the header, file names included, is encrypted too. */
  encryptedHeaders: Buffer;
  /** `7z a` with no password: two files. */
  plain: Buffer;
  /** `7z a -tzip -mem=AES256 -p`: a WinZip AES zip. */
  zipAes: Buffer;
  /** `7z a -tzip -mem=ZipCrypto -p`: a traditional PKWARE-encrypted zip. */
  zipCrypto: Buffer;
  /** A plain zip holding `encryptedContent` as `inner.7z`. */
  encrypted7zInZip: Buffer;
  /** A plain zip holding `encryptedHeaders` as `inner.7z`. */
  encryptedHeaders7zInZip: Buffer;
  /** A gzipped tar holding `encryptedHeaders` as `inner.7z`. */
  encryptedHeaders7zInTarGz: Buffer;
}

function sevenZipCommand(): string {
  for (const command of SEVEN_ZIP_COMMANDS) {
    try {
      execFileSync(command, ['i'], { stdio: 'ignore' });
      return command;
    } catch {
      // try the next name
    }
  }
  throw new Error(`7-Zip is needed to make these test archives (${SEVEN_ZIP_COMMANDS.join(' or ')}): run scripts/install-deps.sh test`);
}

export function makeRealArchives(): RealArchives {
  const command = sevenZipCommand();
  const dir = mkdtempSync(path.join(tmpdir(), 'sr-7z-'));
  try {
    const file = (name: string) => path.join(dir, name);
    writeFileSync(file('salaries.txt'), 'Payroll, December: confidential\n'.repeat(20));
    const many: string[] = [];
    for (let i = 1; i <= 40; i++) {
      writeFileSync(file(`payslip-${i}.txt`), `Payslip ${i}: net pay ${1000 + i}\n`);
      many.push(`payslip-${i}.txt`);
    }
    const make = (archive: string, switches: string[], inputs: string[]): Buffer => {
      execFileSync(command, ['a', '-bso0', '-bsp0', '-y', ...switches, archive, ...inputs], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      return readFileSync(file(archive));
    };
    const password = `-p${ARCHIVE_PASSWORD}`;
    const encryptedContent = make('content.7z', [password], ['salaries.txt']);
    const encryptedHeaders = make('headers.7z', [password, '-mhe=on'], ['salaries.txt']);
    return {
      encryptedContent,
      encryptedSolid: make('solid.7z', [password, '-ms=on'], many),
      encryptedHeaders,
      plain: make('plain.7z', [], ['salaries.txt', 'payslip-1.txt']),
      zipAes: make('aes.zip', ['-tzip', password, '-mem=AES256'], ['salaries.txt']),
      zipCrypto: make('zipcrypto.zip', ['-tzip', password, '-mem=ZipCrypto'], ['salaries.txt']),
      encrypted7zInZip: zipOf([{ name: 'inner.7z', data: encryptedContent }]),
      encryptedHeaders7zInZip: zipOf([{ name: 'inner.7z', data: encryptedHeaders }]),
      encryptedHeaders7zInTarGz: gzipSync(tarOf([{ name: 'inner.7z', data: encryptedHeaders }])),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
