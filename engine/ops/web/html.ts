/**
 * The console's one escaping helper: pages are TypeScript template functions, and every value
 * interpolated into `html\`…\`` is escaped unless it is already Html (made by `html` itself or
 * by `raw`, which only trusted constant markup may use).
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function part(v: unknown): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === undefined || v === null || v === false) return '';
  return esc(v);
}

/** Tagged template: values escaped (attributes included: they are always quoted in our templates). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Markup we wrote ourselves (never user or message data). */
export function raw(text: string): Html {
  return new Html(text);
}

/** A query string from the defined values. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A short, bounded text for lists (reasons, details): never a whole payload. */
export function truncate(text: string | null | undefined, max = 160): string {
  if (!text) return '';
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

export function isoMinute(d: Date | null | undefined): string {
  return d ? d.toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '';
}

/** "3 min", "2 h" … for queue ages. */
export function age(since: Date | null | undefined, now = new Date()): string {
  if (!since) return '';
  const s = Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d`;
}
