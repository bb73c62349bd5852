import { Message, charsetForMsh18, encode, msh18For, type Charset } from '../hl7';

export interface WireCharsetOptions {
  /** Forced output charset (destination `charset`): MSH-18 is rewritten to say it. */
  charset?: Charset;
  /** Charset of a message whose MSH-18 is empty (the channel's `charset.default`). */
  defaultCharset?: Charset;
}

/**
 * The bytes a destination writes, always in the charset MSH-18 declares: the message's own
 * MSH-18 when no charset is forced (an `8859/1` message leaves as ISO 8859-1 bytes), else the
 * forced charset with MSH-18 rewritten to match. An MSH-18 we cannot encode to is rewritten to
 * UTF-8. Characters the charset cannot hold become \Xhh..\ escapes (see `encode`).
 */
export function wireBytes(message: Message, opts: WireCharsetOptions = {}): Buffer {
  const declared = message.get('MSH-18').trim();
  let target: Charset;
  let rewrite: string | undefined;
  if (opts.charset) {
    target = opts.charset;
    if (charsetForMsh18(declared) !== target) rewrite = msh18For(target);
  } else if (declared === '') {
    target = opts.defaultCharset ?? 'utf-8';
  } else {
    const known = charsetForMsh18(declared);
    target = known ?? 'utf-8';
    if (!known) rewrite = msh18For('utf-8');
  }
  let out = message;
  if (rewrite !== undefined && rewrite !== declared) {
    out = Message.parse(message.toString()); // the caller's message stays as it was
    out.set('MSH-18', rewrite);
  }
  return encode(out.toString(), target, { escape: out.delimiters.escape });
}
