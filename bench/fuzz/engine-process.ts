/** A real engine process for the fuzzer: its channel, its store, its RSS. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';

function cliPath(): string {
  const fromDist = resolve(__dirname, '../../engine/cli/main.js');
  if (existsSync(fromDist) && __dirname.includes(`${'/'}dist${'/'}`)) return fromDist;
  return resolve(__dirname, '../../dist/engine/cli/main.js');
}

export interface EngineProcessOptions {
  dir: string;
  port: number;
  redisUrl: string;
  prefix: string;
  /** Extra YAML appended to the channel's top level (limits, refusals…). */
  channelExtra?: string;
  /** Refusals answered at once per connection per second (source.nakRate.perSecond); the channel default when absent. */
  nakPerSecond?: number;
  /** Add the CR-BIO destination (needs an ANS kit). */
  crbio?: { kitDir: string; lab: string };
}

export class EngineProcess {
  child: ChildProcess | undefined;
  exit: { code: number | null; signal: string | null } | undefined;
  maxRssKb = 0;
  private sampler: NodeJS.Timeout | undefined;
  readonly storePath: string;
  readonly logPath: string;
  readonly channel = 'fuzz-results';

  constructor(private readonly o: EngineProcessOptions) {
    this.storePath = join(o.dir, 'store', 'messages.db');
    this.logPath = join(o.dir, 'engine.log');
  }

  async start(): Promise<void> {
    const o = this.o;
    mkdirSync(join(o.dir, 'channels'), { recursive: true });
    const dest = [
      `  - name: archive\n    type: file\n    directory: ${join(o.dir, 'out')}\n    fileName: \${id}.hl7\n`,
      o.crbio ? `  - name: crbio\n    type: crbio\n    directory: ${join(o.dir, 'crbio')}\n    lab: ${o.crbio.lab}\n    fullValidation: false\n` : '',
    ].join('');
    writeFileSync(
      join(o.dir, 'channels', `${this.channel}.yaml`),
      `name: ${this.channel}\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: ${o.port}\n` +
        (o.nakPerSecond ? `  nakRate:\n    perSecond: ${o.nakPerSecond}\n    burst: ${Math.ceil(o.nakPerSecond)}\n` : '') +
        `acceptance:\n  messageTypes: [ORU^R01, OUL^R22]\n  versions: ['2.3', '2.4', '2.5', '2.6']\n` +
        `ordering:\n  key: placer-order\n  partitions: 4\n` +
        (o.channelExtra ?? '') +
        `destinations:\n${dest}`,
    );
    const log = openSync(this.logPath, 'a');
    this.child = spawn(process.execPath, [cliPath(), 'start'], {
      env: {
        ...process.env,
        PASSERELLE_CHANNELS: join(o.dir, 'channels'),
        PASSERELLE_VAR: join(o.dir, 'var'),
        REDIS_URL: o.redisUrl,
        PASSERELLE_EMBEDDED_REDIS: '0',
        PASSERELLE_PREFIX: o.prefix,
        PASSERELLE_STORE: `sqlite:${this.storePath}`,
        PASSERELLE_SQLITE_SYNC: 'NORMAL',
        PASSERELLE_WATCH: '0',
        PASSERELLE_LOG_LEVEL: process.env.FUZZ_ENGINE_LOG_LEVEL ?? 'warn',
        // One render thread with a 192 MB heap: a runaway render fails coded, inside the RSS budget.
        ...(o.crbio ? { PASSERELLE_ANS_KIT: o.crbio.kitDir, PASSERELLE_RENDER_THREADS: '1', PASSERELLE_RENDER_MEMORY_MB: '192' } : {}),
      },
      stdio: ['ignore', log, log],
    });
    this.child.once('exit', (code, signal) => {
      this.exit = { code, signal };
    });
    this.sampler = setInterval(() => this.sample(), 100);
    this.sampler.unref();
    const t0 = Date.now();
    while (!(await portOpen(o.port))) {
      if (this.exit) throw new Error(`engine exited at start (${JSON.stringify(this.exit)}); see ${this.logPath}`);
      if (Date.now() - t0 > 60_000) throw new Error(`engine did not listen on ${o.port} within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  sample(): void {
    if (!this.child?.pid || this.exit) return;
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      if (m) this.maxRssKb = Math.max(this.maxRssKb, Number(m[1]));
    } catch {
      // gone between the check and the read
    }
  }

  /** Bytes of the SQLite store (database + WAL). */
  storeBytes(): number {
    let n = 0;
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        n += statSync(this.storePath + suffix).size;
      } catch {
        // absent
      }
    }
    return n;
  }

  async stop(): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    const child = this.child;
    if (!child || this.exit) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const hard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(hard);
  }
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
}
