// Extracted text as Strongroom keeps it: words and line breaks, never instructions to a terminal.
// A document's text reaches people's terminals (strongroom search), logs and CSV; an uploader who puts
// escape sequences (ESC, BEL, the C1 CSI), a bare carriage return or other controls in a file must not
// be able to clear, retitle or overwrite what the searcher sees.

/** C0 and C1 controls, DEL included, but tab and line feed. */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu;

/**
 * Carriage returns (alone or before a line feed) and form feeds become line feeds, NUL goes, and every
 * other control character but tab becomes a space, so the words on either side stay apart.
 */
export function plainText(text: string): string {
  return text.replace(/\u0000/g, '').replace(/\r\n?|\f/g, '\n').replace(CONTROLS, ' ');
}
