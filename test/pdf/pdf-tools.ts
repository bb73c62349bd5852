/**
 * The Debian PDF tools the tests check our output with (poppler-utils, qpdf, dmtx-utils;
 * scripts/test-prereqs.sh installs them). Each PDF is written to a temporary folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class PdfFile {
  readonly dir = mkdtempSync(join(tmpdir(), 'psl-pdf-'));
  readonly path = join(this.dir, 'report.pdf');

  constructor(readonly bytes: Buffer) {
    writeFileSync(this.path, bytes);
  }

  /** pdftotext in reading order; pages are separated by form feeds. */
  text(): string {
    return execFileSync('pdftotext', ['-enc', 'UTF-8', this.path, '-'], { encoding: 'utf8' });
  }

  pages(): string[] {
    return this.text().split('\f').filter((p) => p.trim() !== '');
  }

  /** qpdf --check: exit code and output (exit 0 = no errors, 3 = warnings only). */
  qpdfCheck(): { status: number; output: string } {
    const r = spawnSync('qpdf', ['--check', this.path], { encoding: 'utf8' });
    return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
  }

  /** Rows of `pdffonts`: name, type, emb. */
  fonts(): Array<{ name: string; type: string; emb: string }> {
    const out = execFileSync('pdffonts', [this.path], { encoding: 'utf8' });
    return out
      .split('\n')
      .slice(2)
      .filter((l) => l.trim() !== '')
      .map((l) => {
        // name, type (may contain spaces), encoding, emb, sub, uni, object id, generation
        const m = /^(\S+)\s+(.+?)\s{2,}(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$/.exec(l);
        return m ? { name: m[1], type: m[2], emb: m[4] } : { name: l, type: '?', emb: '?' };
      });
  }

  pdfinfo(): string {
    return execFileSync('pdfinfo', [this.path], { encoding: 'utf8' });
  }

  /** The XMP packet, read after qpdf has decompressed every stream. */
  xmp(): string {
    const qdf = join(this.dir, 'qdf.pdf');
    spawnSync('qpdf', ['--qdf', '--object-streams=disable', this.path, qdf]);
    const s = readFileSync(qdf, 'latin1');
    const start = s.indexOf('<?xpacket begin');
    const end = s.indexOf('<?xpacket end');
    return start >= 0 && end > start ? Buffer.from(s.slice(start, end), 'latin1').toString('utf8') : '';
  }

  /**
   * Decodes Datamatrix symbols in the top band of page 1 (where the identity block is), at
   * 300 dpi. The crop and dmtxread's edge limits keep a search that finds nothing to a few
   * seconds instead of minutes on a full text page; the positive test uses the same call,
   * which shows the settings do find the symbol.
   */
  datamatrix(): string | undefined {
    const prefix = join(this.dir, 'p1');
    execFileSync('pdftoppm', ['-r', '300', '-png', '-f', '1', '-l', '1', '-x', '0', '-y', '0', '-W', '2481', '-H', '750', this.path, prefix]);
    const png = `${prefix}-1.png`;
    const r = spawnSync('dmtxread', ['-n', '-N', '1', '-S', '2', '-e', '50', '-E', '250', '-m', '30000', png], { encoding: 'latin1' });
    // dmtxread ends each message with a newline of its own.
    return r.status === 0 && r.stdout ? r.stdout.replace(/\n$/, '') : undefined;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function toolsPresent(): string[] {
  return ['pdftotext', 'pdffonts', 'pdfinfo', 'pdftoppm', 'qpdf', 'dmtxread'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0,
  );
}
