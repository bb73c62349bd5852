/** What a result message may hold before it becomes a report (issue 7; docs/channels.md). */
import { PasserelleError } from '../errors';
import type { Message } from '../hl7';

export interface ReportLimits {
  maxResults: number;
  maxComments: number;
  maxBytes: number;
}

export const DEFAULT_REPORT_LIMITS: Readonly<ReportLimits> = { maxResults: 2000, maxComments: 2000, maxBytes: 4 * 1024 * 1024 };

/**
 * Refuses, before any rendering, a message that would make a report beyond the limits: a PDF
 * of 1.8 M comment lines is no report anyone reads, and rendering it would hold a thread and
 * gigabytes. Counts segments only (no report is built).
 */
export function checkReportLimits(message: Message, limits: ReportLimits): void {
  let results = 0;
  let comments = 0;
  let bytes = 0;
  for (const seg of message.segments()) {
    if (seg.name === 'OBX') results++;
    else if (seg.name === 'NTE') comments++;
    bytes += seg.toString().length + 1;
    if (results > limits.maxResults || comments > limits.maxComments || bytes > limits.maxBytes) {
      const what = results > limits.maxResults ? `more than ${limits.maxResults} results (OBX)` : comments > limits.maxComments ? `more than ${limits.maxComments} comments (NTE)` : `more than ${limits.maxBytes} bytes`;
      throw new PasserelleError('PSL_REPORT_TOO_LARGE', `the report holds ${what}; not rendered (crbio limits)`, {
        details: { results, comments, bytes },
      });
    }
  }
}
