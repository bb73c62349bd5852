/**
 * An engine with test channels and its operations console, for the browser test and the
 * screenshot script: `results` (LTW results → reports with CR-BIO documents, and a copy to a
 * LIS over MLLP that refuses with AE until it is fixed) and `bulk` (large messages to a file).
 * Users: one per role, with known passwords. Test identities only.
 */
import { join } from 'node:path';
import { repoRootOf } from '../../engine/config/reference-data';
import { Console } from '../../engine/ops/console';
import { consoleConfigFromEnv } from '../../engine/ops/config';
import { consoleStoreFor } from '../../engine/ops/store';
import { UserAdmin } from '../../engine/ops/auth/user-admin';
import { API_ROUTES } from '../../engine/ops/api';
import { WEB_ROUTES } from '../../engine/ops/web';
import { MllpClient } from '../../engine/mllp';
import type { Role } from '../../engine/ops/context';
import type { StoredMessage } from '../../engine/store/types';
import { channelYaml, startTestEngine, type TestEngine } from './engine-harness';
import { ANS_KIT_DIR } from './ans-kit';
import { ScriptedPeer } from './lab-peers';
import { freePort } from './redis';
import { sendAccepted } from './deliveries';
import { waitFor } from './wait';
import { silentLogger, type Logger } from '../../engine/runtime/logger';

const repo = repoRootOf(__dirname);

export const USERS: Record<Role, { name: string; password: string }> = {
  viewer: { name: 'vera.viewer', password: 'viewer-test-password-1' },
  operator: { name: 'oscar.operator', password: 'operator-test-password-1' },
  admin: { name: 'ada.admin', password: 'admin-test-password-1' },
};

/** The LIS copy's peer: AE with a reason until `fixed` is set, then AA. */
export class LisPeer {
  fixed = false;
  readonly peer: ScriptedPeer;
  constructor(readonly port: number) {
    this.peer = new ScriptedPeer(port, (m, n) => {
      const code = this.fixed ? 'AA' : 'AE';
      const err = this.fixed ? '' : `\rERR||PID^1^3|204^Patient inconnu du SIL (IPP absent de l'index)^HL70357|E`;
      return `MSH|^~\\&|SIL|LABO|PSL|LABO|20261125080000||ACK^R01^ACK|LIS-${n}|P|2.5\rMSA|${code}|${m.get('MSH-10')}${err}\r`;
    });
  }
}

export interface ConsoleScenario {
  te: TestEngine;
  console: Console;
  base: string;
  lis: LisPeer;
  send(channel: 'results' | 'bulk' | 'receipts', text: string): Promise<void>;
  /** The stored message of a control id once its state is one of `states`. */
  messageIn(controlId: string, states: StoredMessage['state'][], timeoutMs?: number): Promise<StoredMessage>;
  stop(): Promise<void>;
}

export interface ScenarioOptions {
  logger?: Logger;
  /**
   * Also a copy to an EAI that is down (a closed port, retried for an hour): the overview then
   * shows a destination waiting with the reason. Messages never finish while it is down.
   */
  eaiDown?: boolean;
  /**
   * Also each version to a PFI (a peer answering AA; every version then passes the full ANS set
   * first) and a `receipts` channel for the PFI's business acknowledgements (ZAM): what the
   * Ségur indicators count.
   */
  pfi?: boolean;
}

export async function startConsoleScenario(opts: ScenarioOptions = {}): Promise<ConsoleScenario> {
  const logger = opts.logger ?? silentLogger();
  const lis = new LisPeer(await freePort());
  await lis.peer.listen();
  const pfiPort = await freePort();
  const pfi = opts.pfi ? new ScriptedPeer(pfiPort, (m, n) => `MSH|^~\\&|PFI|CHU-DEMO|SIL-LABO|LABO-DEMO|20261125080000||ACK^R01^ACK|PFI-${n}|P|2.6\rMSA|AA|${m.get('MSH-10')}\r`) : undefined;
  await pfi?.listen();
  const te = await startTestEngine(
    {
      'results.yaml': channelYaml(
        'results',
        `acceptance:\n  messageTypes: [ORU^R01, OUL^R22]\nordering:\n  key: placer-order\ndestinations:\n` +
          `  - name: documents\n    type: reports\n    directory: \${DIR}/out/documents\n    lab: ${join(repo, 'channels/labs/laboratoire-demo.yaml')}\n` +
          `    ownFillers: [SIL-LABO]\n    fullValidation: false\n` +
          (pfi
            ? `    pfi:\n      host: 127.0.0.1\n      port: ${pfiPort}\n      receivingApplication: PFI\n      receivingFacility: CHU-DEMO\n      replyTo: resultats@labo-demo.mssante.fr\n` +
              `      retry:\n        maxAttempts: 20\n        backoffBaseMs: 200\n        backoffMaxMs: 1000\n`
            : '') +
          `  - name: lis\n    type: mllp\n    host: 127.0.0.1\n    port: ${lis.port}\n    responseTimeoutMs: 5000\n` +
          `    retry:\n      maxAttempts: 3\n      backoffBaseMs: 100\n      backoffMaxMs: 500\n` +
          (opts.eaiDown
            ? `  - name: eai-copy\n    type: mllp\n    host: 127.0.0.1\n    port: ${await freePort()}\n    connectTimeoutMs: 500\n` +
              `    retry:\n      maxAttempts: 1000\n      backoffBaseMs: 1000\n      backoffMaxMs: 5000\n`
            : ''),
      ),
      ...(pfi ? { 'receipts.yaml': channelYaml('receipts', `acceptance:\n  messageTypes: [ZAM^Z01, ZAM^Z02, ZAM^Z03]\n  versions: ['2.6']\ndestinations:\n  - name: receipts\n    type: pfi-receipts\n`) } : {}),
      'bulk.yaml': channelYaml('bulk', `  maxFrameBytes: 16777216\nacceptance:\n  messageTypes: [ORU^R01]\ndestinations:\n  - name: archive\n    type: file\n    directory: \${DIR}/out/bulk\n    fileName: \${MSH-10}.hl7\n`),
    },
    { ansKitDir: ANS_KIT_DIR, logger },
  );
  const consoleStore = consoleStoreFor(te.config);
  await consoleStore.init();
  const users = new UserAdmin(consoleStore);
  for (const role of ['viewer', 'operator', 'admin'] as Role[]) await users.create(USERS[role].name, role, USERS[role].password);
  const console = new Console({
    config: consoleConfigFromEnv({}, { addr: '127.0.0.1:0' }),
    engineConfig: te.config,
    store: te.engine.messageStore,
    engine: te.engine,
    logger,
    routes: [...WEB_ROUTES, ...API_ROUTES],
    consoleStore,
    staticDir: join(repo, 'engine/ops/web/static'),
  });
  await console.start();
  const clients = new Map<string, MllpClient>();
  return {
    te,
    console,
    base: console.url!,
    lis,
    async send(channel, text) {
      let c = clients.get(channel);
      if (!c) clients.set(channel, (c = new MllpClient({ host: '127.0.0.1', port: te.port(channel), responseTimeoutMs: 30_000 })));
      await sendAccepted(c, text);
    },
    async messageIn(controlId, states, timeoutMs = 90_000) {
      let found: StoredMessage | undefined;
      const ok = await waitFor(async () => {
        found = (await te.engine.messageStore.searchMessages({ controlId, limit: 1 }))[0];
        return !!found && states.includes(found.state);
      }, timeoutMs, 200);
      if (!ok) throw new Error(`message ${controlId} not in ${states.join('/')} within ${timeoutMs} ms (${found?.state ?? 'absent'}: ${found?.reason ?? ''})`);
      return found!;
    },
    async stop() {
      for (const c of clients.values()) await c.close();
      await console.stop(1000);
      await te.stop();
      await lis.peer.close();
      await pfi?.close();
    },
  };
}

/** Chromium from Debian, driven by playwright-core (no browser download). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
