// OCR through Debian's tesseract (English) and poppler: `pdftocairo` renders one page as PNG to its
// stdout, piped straight into `tesseract stdin stdout`. The PDF goes in on pdftocairo's stdin, streamed
// from the store for each page (the server never holds it whole), and poppler keeps it in its own
// memory, so no page image, no PDF and no OCR text is ever written to disk. Each program runs in its
// own process group under an address-space limit (prlimit) and a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { defaultEnvironment } from '../process.js';
import { streamInto, type ContentInput } from './content-input.js';

export interface ProgramLimits {
  timeoutMs: number;
  memoryMb: number;
  signal: AbortSignal;
  /** Most bytes of text kept from tesseract; more is a failure, not a silent cut. */
  maxOutputBytes?: number;
}

export class OcrError extends Error {
  constructor(
    message: string,
    readonly aborted = false,
  ) {
    super(message);
    this.name = 'OcrError';
  }
}

interface Stage {
  command: string;
  args: string[];
}

// One thread per tesseract: the worker runs one page at a time, and OpenMP threads on a shared
// machine make it slower, not faster (tesseract's own advice for batch use).
const environment = (): Record<string, string> => ({ ...defaultEnvironment(), OMP_THREAD_LIMIT: '1' });

function withMemoryLimit(stage: Stage, memoryMb: number): Stage {
  return { command: 'prlimit', args: [`--as=${memoryMb * 1024 * 1024}`, '--', stage.command, ...stage.args] };
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Runs stages connected stdout → stdin, the input streamed into the first one's stdin; resolves the
 * last one's stdout. Rejects with OcrError for what the programs do, and with the store's own error
 * when the input cannot be read.
 */
function pipeline(stages: Stage[], input: ContentInput, limits: ProgramLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (limits.signal.aborted) {
      reject(new OcrError('aborted', true));
      return;
    }
    const maxOutput = limits.maxOutputBytes ?? 4 * 1024 * 1024;
    const children = stages.map((stage) =>
      spawn(stage.command, stage.args, { env: environment(), stdio: ['pipe', 'pipe', 'pipe'], detached: true }),
    );
    const stderr: string[] = stages.map(() => '');
    const output: Buffer[] = [];
    let outputBytes = 0;
    let failure: Error | null = null;
    let open = children.length;

    const fail = (error: Error): void => {
      failure ??= error;
      for (const child of children) killGroup(child);
    };
    const timer = setTimeout(() => fail(new OcrError(`OCR of the page took longer than ${limits.timeoutMs} ms and was stopped`)), limits.timeoutMs);
    const onAbort = (): void => fail(new OcrError('aborted', true));
    limits.signal.addEventListener('abort', onAbort, { once: true });

    children.forEach((child, index) => {
      child.stdin!.on('error', () => {}); // EPIPE when a program stops reading: its exit status tells why
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr[index] = (stderr[index] + chunk.toString('utf8')).slice(-1000);
      });
      const next = children[index + 1];
      if (next) child.stdout!.pipe(next.stdin!);
      else {
        child.stdout!.on('data', (chunk: Buffer) => {
          outputBytes += chunk.length;
          if (outputBytes > maxOutput) fail(new OcrError(`OCR wrote more than ${maxOutput} bytes of text`));
          else output.push(chunk);
        });
      }
      child.on('error', (error) => fail(new OcrError(`could not start ${stages[index]!.args[2] ?? stages[index]!.command}: ${error.message}`)));
      child.on('close', (code, signal) => {
        if (code !== 0 && !failure) {
          const name = stages[index]!.args[2] ?? stages[index]!.command;
          const detail = (stderr[index] ?? '').trim().split('\n').slice(-1)[0] ?? '';
          fail(new OcrError(`${name} failed (${signal ?? `exit code ${code}`})${detail ? `: ${detail.slice(0, 200)}` : ''}`));
        }
        open -= 1;
        if (open > 0) return;
        clearTimeout(timer);
        limits.signal.removeEventListener('abort', onAbort);
        if (failure) reject(failure);
        else resolve(Buffer.concat(output));
      });
    });
    streamInto(input, children[0]!.stdin!, limits.signal).catch(fail);
  });
}

const tesseract: Stage = { command: 'tesseract', args: ['stdin', 'stdout', '-l', 'eng', '--psm', '3'] };

/** Renders page `page` of `pdf` at `dpi` and reads it. */
export async function ocrPdfPage(pdf: ContentInput, page: number, dpi: number, limits: ProgramLimits): Promise<string> {
  const render: Stage = { command: 'pdftocairo', args: ['-png', '-r', String(dpi), '-f', String(page), '-l', String(page), '-singlefile', '-', '-'] };
  const text = await pipeline([withMemoryLimit(render, limits.memoryMb), withMemoryLimit(tesseract, limits.memoryMb)], pdf, limits);
  return text.toString('utf8');
}

/** Reads an image (PNG, JPEG, TIFF) given on tesseract's stdin. */
export async function ocrImage(image: ContentInput, limits: ProgramLimits): Promise<string> {
  const text = await pipeline([withMemoryLimit(tesseract, limits.memoryMb)], image, limits);
  return text.toString('utf8');
}

/** Renders the first page of a PDF as a PNG at most `size` pixels on its longer side. */
export async function renderFirstPage(pdf: ContentInput, size: number, limits: ProgramLimits): Promise<Buffer> {
  const render: Stage = { command: 'pdftocairo', args: ['-png', '-scale-to', String(size), '-f', '1', '-l', '1', '-singlefile', '-', '-'] };
  return pipeline([withMemoryLimit(render, limits.memoryMb)], pdf, limits);
}
