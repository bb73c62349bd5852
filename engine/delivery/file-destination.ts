import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Charset } from '../hl7';
import { wireBytes } from './wire-charset';
import { PasserelleError } from '../errors';
import type { Destination, OutboundMessage } from './destination';

export interface FileDestinationOptions {
  name: string;
  /** Output directory (created). */
  directory: string;
  /** Name template: `${id}` is the store id, `${MSH-10}` (any path) a message field. Default `${MSH-10}.hl7`. */
  fileName?: string;
  /** Forced output charset, MSH-18 rewritten to match. Default: the charset MSH-18 declares. */
  charset?: Charset;
  /** Charset for messages whose MSH-18 is empty. Default utf-8. */
  defaultCharset?: Charset;
  /** fsync each file before renaming it into place (survives power loss, not only a crash). Default true. */
  fsync?: boolean;
}

/**
 * Writes each message to a temporary name, then renames it into place: a reader never sees a
 * half-written file, and a re-delivery after a crash replaces the file with identical content.
 */
export class FileDestination implements Destination {
  readonly name: string;
  private readonly opts: Required<Omit<FileDestinationOptions, 'charset'>> & Pick<FileDestinationOptions, 'charset'>;
  private dirReady: Promise<unknown> | undefined;

  constructor(opts: FileDestinationOptions) {
    this.name = opts.name;
    this.opts = { fileName: '${MSH-10}.hl7', defaultCharset: 'utf-8', fsync: true, ...opts };
  }

  async deliver(out: OutboundMessage): Promise<string> {
    const name = fileNameFor(this.opts.fileName, out);
    const target = join(this.opts.directory, name);
    const tmp = join(this.opts.directory, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      this.dirReady ??= mkdir(this.opts.directory, { recursive: true });
      await this.dirReady;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(wireBytes(out.message, this.opts));
        if (this.opts.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
      return name;
    } catch (e) {
      this.dirReady = undefined;
      await unlink(tmp).catch(() => undefined);
      throw new PasserelleError('PSL_DEST_IO', `file destination ${this.name}: ${(e as Error).message}`, { cause: e });
    }
  }

  async close(): Promise<void> {}
}

/** Expands `${...}` placeholders into a safe file name (no separators, no leading dot). */
export function fileNameFor(template: string, out: OutboundMessage): string {
  const name = template.replace(/\$\{([^}]+)\}/g, (_m, key: string) => {
    const v = key === 'id' ? out.id : key === 'MSH-10' ? out.controlId : out.message.get(key);
    return (v || 'none').replace(/[^A-Za-z0-9._-]/g, '_');
  });
  return name.replace(/^\.+/, '_');
}
