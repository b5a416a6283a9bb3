// The LogoImages adapter: an organisation's logo judged by its content (file-type's magic bytes; an
// SVG, being text, by the domain's own check), then measured and re-encoded by sharp in a parser
// process of its own (text-extraction/contained.ts), with a small heap and a deadline.
import { fileTypeFromBuffer } from 'file-type';
import {
  LOGO_REFUSALS, ORGANISATION_LOGO_MAX_HEIGHT, ORGANISATION_LOGO_MAX_WIDTH, organisationLogoPrecheck, type OrganisationLogoType,
} from '../domain/branding/brand.js';
import type { LogoImages, LogoOutcome } from '../domain/ports.js';
import { inMemory } from './text-extraction/content-input.js';
import { runParser } from './text-extraction/contained.js';

const FORMATS: Record<string, { format: 'png' | 'jpeg'; type: OrganisationLogoType }> = {
  'image/png': { format: 'png', type: 'image/png' },
  'image/jpeg': { format: 'jpeg', type: 'image/jpeg' },
};

export class ContainedLogoImages implements LogoImages {
  constructor(private readonly options: { timeoutMs?: number; memoryMb?: number; dataMb?: number } = {}) {}

  async normalise(bytes: Buffer, options: { signal?: AbortSignal } = {}): Promise<LogoOutcome> {
    const early = organisationLogoPrecheck(bytes);
    if (early) return { ok: false, problem: early };
    let detected: string | undefined;
    try {
      detected = (await fileTypeFromBuffer(bytes))?.mime;
    } catch {
      detected = undefined;
    }
    const wanted = detected ? FORMATS[detected] : undefined;
    if (!wanted) return { ok: false, problem: LOGO_REFUSALS.notImage };

    let result: LogoOutcome = { ok: false, problem: LOGO_REFUSALS.unreadable };
    const outcome = await runParser(
      { task: 'logo', format: wanted.format, maxWidth: ORGANISATION_LOGO_MAX_WIDTH, maxHeight: ORGANISATION_LOGO_MAX_HEIGHT },
      {
        input: inMemory(bytes),
        timeoutMs: this.options.timeoutMs ?? 15_000,
        memoryMb: this.options.memoryMb ?? 256,
        // A logo is small (brand.ts caps its bytes and pixels); the heap and its buffers, and no more.
        dataMb: this.options.dataMb ?? 768,
        signal: options.signal ?? new AbortController().signal,
        onMessage: (message) => {
          if (message.type === 'logo') {
            result = { ok: true, bytes: Buffer.from(message.image.buffer, message.image.byteOffset, message.image.byteLength), type: wanted.type, width: message.width, height: message.height };
          } else if (message.type === 'logo-refused') {
            result = { ok: false, problem: message.reason === 'dimensions' ? LOGO_REFUSALS.tooBig : LOGO_REFUSALS.notImage };
          }
        },
      },
    );
    if (outcome.kind === 'aborted') options.signal?.throwIfAborted();
    // A decoder error, crash or timeout: the file is not an image this service can draw again.
    return outcome.kind === 'ended' ? result : { ok: false, problem: LOGO_REFUSALS.unreadable };
  }
}
