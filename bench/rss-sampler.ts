/**
 * Samples another process's resident set size (VmRSS in /proc/<pid>/status) at a fixed period,
 * and compares the first and the last window of the run: a leak shows as a last window that
 * keeps climbing above the first.
 */
import { readFileSync } from 'node:fs';

export interface RssSample {
  /** ms since the sampler started */
  t: number;
  mb: number;
}

export interface RssWindow {
  avgMb: number;
  maxMb: number;
  samples: number;
}

export interface RssReport {
  first: RssWindow;
  last: RssWindow;
  maxMb: number;
  /** last.avgMb / first.avgMb */
  ratio: number;
}

/** VmRSS of `pid` in MB, or undefined when the process is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;

  constructor(
    private readonly pid: number,
    private readonly everyMs: number,
    /** Called after each sample (progress lines, other gauges). */
    private readonly onSample?: (s: RssSample) => void,
  ) {}

  start(): void {
    this.t0 = Date.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** First and last `windowMs` of the samples taken (they overlap on short runs). */
  report(windowMs: number): RssReport {
    const s = this.samples;
    const end = s.length ? s[s.length - 1]!.t : 0;
    const first = summarise(s.filter((x) => x.t <= windowMs));
    const last = summarise(s.filter((x) => x.t >= end - windowMs));
    return {
      first,
      last,
      maxMb: s.reduce((m, x) => Math.max(m, x.mb), 0),
      ratio: first.avgMb > 0 ? last.avgMb / first.avgMb : Number.NaN,
    };
  }

  private sample(): void {
    const mb = rssMb(this.pid);
    if (mb === undefined) return;
    const s = { t: Date.now() - this.t0, mb };
    this.samples.push(s);
    this.onSample?.(s);
  }
}

function summarise(xs: RssSample[]): RssWindow {
  if (xs.length === 0) return { avgMb: 0, maxMb: 0, samples: 0 };
  return {
    avgMb: xs.reduce((n, x) => n + x.mb, 0) / xs.length,
    maxMb: xs.reduce((m, x) => Math.max(m, x.mb), 0),
    samples: xs.length,
  };
}
