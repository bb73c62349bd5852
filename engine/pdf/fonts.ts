/**
 * Where the PDF fonts come from.
 *
 * PDF/A-1 forbids the 14 standard PDF fonts (they are never embedded), so every glyph must
 * come from an embedded font program. We embed DejaVu Sans (regular + bold): free licence
 * (Bitstream Vera / Arev, public-domain changes), full Latin coverage for French names, and
 * the arrows (↑ ↓) and comparison signs (≤ ≥) lab reports print.
 *
 * The files are Debian's `fonts-dejavu-core` (installed by scripts/test-prereqs.sh for CI;
 * the production image must `apt-get install fonts-dejavu-core`). PASSERELLE_PDF_FONT_DIR
 * points elsewhere when the fonts live in another folder. Missing fonts are a configuration
 * error, raised with the paths tried and the fix, never a silent fallback to a standard font.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PasserelleError } from '../errors';
import type { PdfFontSource } from './pdfkit';

export const FONT_FILES = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf' } as const;

export const DEBIAN_DEJAVU_DIR = '/usr/share/fonts/truetype/dejavu';

export interface PdfFonts {
  /** Folder the fonts were read from (for logs and errors). */
  dir: string;
  /** Parsed font programs, shared by every document (see parseFont). */
  regular: PdfFontSource;
  bold: PdfFontSource;
}

/**
 * Parses a TTF once with pdfkit's own fontkit. Why: parsing DejaVu (GSUB/GPOS tables) costs
 * ~100 ms, and pdfkit would redo it for every document given a path or a Buffer; given a
 * parsed font it only builds the per-document subset. Rendering is synchronous per
 * document, so sharing the parsed font (and its glyph caches) between documents is safe.
 */
function parseFont(file: string): PdfFontSource {
  // pdfkit's fontkit, not whichever one the project tree hoists.
  const fontkit = createRequire(require.resolve('pdfkit'))('fontkit') as { create(buf: Buffer): PdfFontSource };
  return fontkit.create(readFileSync(file));
}

const cache = new Map<string, PdfFonts>();

/** The folders tried, in order. */
export function fontDirCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.PASSERELLE_PDF_FONT_DIR) dirs.push(env.PASSERELLE_PDF_FONT_DIR);
  dirs.push(DEBIAN_DEJAVU_DIR);
  return dirs;
}

/** Finds and reads the fonts once per folder; throws PSL_PDF_FONT_MISSING when none has both. */
export function loadPdfFonts(env: NodeJS.ProcessEnv = process.env): PdfFonts {
  return loadPdfFontsFrom(fontDirCandidates(env));
}

export function loadPdfFontsFrom(tried: string[]): PdfFonts {
  for (const dir of tried) {
    const hit = cache.get(dir);
    if (hit) return hit;
    const regular = join(dir, FONT_FILES.regular);
    const bold = join(dir, FONT_FILES.bold);
    if (existsSync(regular) && existsSync(bold)) {
      const fonts: PdfFonts = { dir, regular: parseFont(regular), bold: parseFont(bold) };
      cache.set(dir, fonts);
      return fonts;
    }
  }
  throw new PasserelleError(
    'PSL_PDF_FONT_MISSING',
    `PDF fonts ${FONT_FILES.regular} and ${FONT_FILES.bold} not found in ${tried.join(', ')}; ` +
      'install Debian package fonts-dejavu-core (apt-get install fonts-dejavu-core) ' +
      'or set PASSERELLE_PDF_FONT_DIR to a folder holding both files',
    { details: { tried } },
  );
}
