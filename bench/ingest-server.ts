/**
 * Server side of bench/ingest.ts, run in its own process so client and server do not share an
 * event loop. Modes:
 *  - ceiling: a bare `net` server with minimal framing that ACKs after a BullMQ `add` of the
 *    message (no durability: a Redis crash loses ACKed messages);
 *  - engine:  the real listener (MllpServer + Intake: charset, parse, acceptance, ACK builder,
 *    durable store commit, then enqueue of the id), role `listener` (no workers).
 * Prints `READY <port>` when listening.
 */
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Engine } from '../engine/engine';
import { engineConfigFromEnv } from '../engine/config/engine-config';
import { createLogger } from '../engine/runtime/logger';
import { writeFileSync, mkdirSync } from 'node:fs';

const [mode, prefix, store, workDir] = process.argv.slice(2) as ['ceiling' | 'engine', string, string, string | undefined];
const REDIS = { host: '127.0.0.1', port: 6379 };

async function ceiling(): Promise<number> {
  const queue = new Queue('ceiling', { connection: { ...REDIS, maxRetriesPerRequest: null }, prefix });
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    let chain = Promise.resolve();
    sock.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        const end = buf.indexOf(0x1c);
        if (end < 0 || end + 1 >= buf.length) break;
        const text = buf.toString('utf8', buf.indexOf(0x0b) + 1, end);
        buf = buf.subarray(end + 2);
        const msh = text.slice(0, text.indexOf('\r'));
        const f = msh.split('|');
        chain = chain.then(async () => {
          await queue.add('m', { text }, { removeOnComplete: true });
          sock.write(`\x0bMSH|^~\\&|${f[4]}|${f[5]}|${f[2]}|${f[3]}|${f[6]}||ACK^R01^ACK|ACK${f[9]}|P|2.5\rMSA|AA|${f[9]}\r\x1c\r`);
        });
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

async function engine(): Promise<number> {
  const dir = workDir ?? mkdtempSync(join(tmpdir(), 'psl-ingest-bench-')); // the bench removes the one it passes
  mkdirSync(join(dir, 'channels'));
  writeFileSync(
    join(dir, 'channels', 'ltw.yaml'),
    `name: ltw\nsource:\n  type: mllp\n  host: 127.0.0.1\n  port: 0\nacceptance:\n  messageTypes: [ORU^R01]\n` +
      `destinations:\n  - name: out\n    type: file\n    directory: ${join(dir, 'out')}\n`,
  );
  const sync = store.startsWith('sqlite-full') ? 'FULL' : 'NORMAL';
  const e = new Engine(
    engineConfigFromEnv({}, {
      channelsDir: join(dir, 'channels'),
      varDir: join(dir, 'var'),
      embeddedRedis: false,
      prefix,
      store: store.startsWith('postgres') ? store : `sqlite:${join(dir, 'store.db')}`,
      sqliteSynchronous: sync,
      sqliteIntakeThread: 'auto',
      sqliteIntakeJournal: store.endsWith('-journal') ? 'on' : store.endsWith('-nojournal') ? 'off' : 'auto',
      role: 'listener',
      watchChannels: false,
    }),
    createLogger({ level: 'warn' }), // warnings and errors only: bench/ingest.ts shows them, tagged with the mode
  );
  await e.start();
  return e.channel('ltw')!.port!;
}

(mode === 'ceiling' ? ceiling() : engine()).then(
  (port) => process.stdout.write(`READY ${port}\n`),
  (e) => {
    process.stderr.write(String((e as Error).stack) + '\n');
    process.exit(1);
  },
);

// A clean exit on SIGTERM lets `node --cpu-prof` write its profile.
process.on('SIGTERM', () => process.exit(0));
