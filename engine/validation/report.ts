/** Human-readable rendering of a ValidationReport (`passerelle validate`). */
import type { Finding, ValidationReport } from './types';

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/** `/Q{urn:hl7-org:v3}ClinicalDocument[1]/…` → `/ClinicalDocument[1]/…` for reading. */
export function shortLocation(loc: string): string {
  return loc.replace(/Q\{urn:hl7-org:v3\}/g, '').replace(/Q\{\}/g, '');
}

export function formatReport(report: ValidationReport, file?: string): string {
  const lines: string[] = [];
  const head = `${file ? `${file}: ` : ''}${report.valid ? 'VALID' : 'INVALID'}`;
  const what = report.level === 'N1' ? 'N1' : `N3, volet ${report.voletVersion ?? '?'}`;
  lines.push(`${head} (${what}) — ${report.errors} error(s), ${report.warnings} warning(s), ${report.ms.toFixed(0)} ms`);
  lines.push(`  rule sets: ${report.timings.map((t) => `${t.ruleSet} ${t.ms.toFixed(0)} ms`).join(', ')}`);
  const sorted = [...report.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  for (const f of sorted) lines.push(formatFinding(f));
  return lines.join('\n');
}

function formatFinding(f: Finding): string {
  const where = shortLocation(f.location);
  const pattern = f.patternId ? ` ${f.patternId}` : '';
  return `  ${f.severity.toUpperCase()} [${f.ruleSet}${pattern}] ${where}: ${f.text}`;
}
