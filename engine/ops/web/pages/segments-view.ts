/**
 * The HL7 of a message, segment by segment: each segment a collapsible block listing its values
 * with their paths. Values past VIEW_CHARS show their length and a button that loads them
 * (console.js, from /api/messages/:id/field); the next page of segments loads the same way.
 */
import { viewerMayLoad, type SegmentView } from '../../api/segments';
import { html, type Html } from '../html';

/** Above this many segments, segments start collapsed (one summary line each). */
const OPEN_BELOW = 40;

export function segmentBlocks(id: string, segs: SegmentView[], total: number, identity: boolean): Html {
  const open = total <= OPEN_BELOW;
  return html`${segs.map(
    (s) => html`<details class="seg"${open ? html` open` : ''} data-seg="${s.ref}">
<summary><b>${s.ref.endsWith('[1]') ? s.name : s.ref}</b> <code class="sum">${s.summary}</code>${s.length > 120 ? html` <span class="muted small">${s.length} chars</span>` : ''}</summary>
<table class="fields">${s.leaves.map(
      (l) => html`<tr${l.masked ? html` class="masked"` : ''}><th>${l.label}</th><td><code>${l.value}</code>${
        l.truncated
          ? html`<span class="muted small"> … ${l.length} chars</span>${identity || viewerMayLoad(l.path) ? html` <button type="button" class="small" data-load-field="${l.path}" data-message="${id}" data-length="${l.length}">load</button>` : ''}`
          : ''
      }</td></tr>`,
    )}</table>
</details>`,
  )}`;
}

/** The "more segments" button after a page, if the message has more. */
export function moreSegments(id: string, next: number, total: number): Html {
  if (next >= total) return html``;
  return html`<button type="button" class="more" data-more-segments="/messages/${encodeURIComponent(id)}/segments?from=${next}">Show segments ${next + 1}–${Math.min(total, next + 100)} of ${total}</button>`;
}
