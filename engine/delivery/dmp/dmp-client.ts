/**
 * HTTPS to the DMP (../shared/docs/dmp-mss-ins.md §1.2): TLS 1.2 or later with the
 * organisation's authentication certificate (mutual TLS), kept-alive connections, and every
 * outcome turned into one of our coded errors, so the line knows whether to retry:
 *
 *  - could not connect, TLS refused, HTTP 5xx / 408 / 429, SOAP Receiver fault, registry busy
 *    or out of resources: PSL_DMP_UNAVAILABLE (transient);
 *  - the request went and no answer came: PSL_DMP_UNCERTAIN (ambiguous: a resend of the same
 *    documents is recognised by their uniqueIds, see DmpDelivery);
 *  - anything else the DMP refused (registry errors such as DMPClosed, XDSUnknownPatientId,
 *    a Sender fault, HTTP 4xx): PSL_DMP_REFUSED (permanent, the DMP's words kept).
 */
import { Agent, request } from 'node:https';
import { PasserelleError } from '../../errors';
import { readAnswer, type DmpAnswer, type RegistryError, type SoapRequest } from './soap';

export interface DmpClientOptions {
  /** Base URL: `…/si-dmp-server/v2/services`; `/repository` and `/registry` are appended. */
  url: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string };
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Kept connections (one per partition of the line). */
  maxSockets: number;
}

/** Registry errors that say "later", not "no". */
const TRANSIENT_REGISTRY = new Set(['XDSRegistryBusy', 'XDSRepositoryBusy', 'XDSRepositoryOutOfResources', 'XDSRegistryOutOfResources']);
/** A document we already filed (a resend after a lost answer): done, not refused. */
export const DUPLICATE_UNIQUE_ID = 'XDSDuplicateUniqueIdInRegistry';

export interface DmpOutcome {
  status: 'success' | 'partial' | 'duplicate';
  errors: RegistryError[];
}

export class DmpClient {
  private readonly agent: Agent;

  constructor(private readonly o: DmpClientOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: o.maxSockets, minVersion: 'TLSv1.2', ...(o.tls ?? {}) });
  }

  endpoint(service: 'repository' | 'registry'): string {
    return `${this.o.url.replace(/\/+$/, '')}/${service}`;
  }

  async send(service: 'repository' | 'registry', req: SoapRequest): Promise<DmpOutcome> {
    const { status, body } = await this.post(this.endpoint(service), req);
    return judge(status, readAnswer(body));
  }

  close(): void {
    this.agent.destroy();
  }

  private post(url: string, req: SoapRequest): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      let sent = false;
      const r = request(url, { method: 'POST', agent: this.agent, headers: { 'Content-Type': req.contentType, 'Content-Length': req.body.length, SOAPAction: `"${req.action}"` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (e) => reject(uncertain(e)));
      });
      const connectTimer = setTimeout(() => r.destroy(Object.assign(new Error(`no connection in ${this.o.connectTimeoutMs} ms`), { code: 'ECONNECT_TIMEOUT' })), this.o.connectTimeoutMs);
      r.on('socket', (socket) => {
        const connected = (): void => clearTimeout(connectTimer);
        if ((socket as { connecting?: boolean }).connecting) socket.once('secureConnect', connected);
        else connected();
      });
      r.setTimeout(this.o.responseTimeoutMs, () => r.destroy(Object.assign(new Error(`no answer in ${this.o.responseTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      r.on('finish', () => (sent = true));
      r.on('error', (e) => {
        clearTimeout(connectTimer);
        reject(sent ? uncertain(e) : new PasserelleError('PSL_DMP_UNAVAILABLE', `DMP unreachable: ${(e as { code?: string }).code ?? ''} ${e.message}`.slice(0, 500)));
      });
      r.on('close', () => clearTimeout(connectTimer));
      r.end(req.body);
    });
  }
}

function uncertain(e: Error): PasserelleError {
  return new PasserelleError('PSL_DMP_UNCERTAIN', `the request went to the DMP and no answer came: ${e.message}`.slice(0, 500));
}

function describe(errors: RegistryError[]): string {
  return errors.map((e) => `${e.errorCode}${e.codeContext ? ` (${e.codeContext})` : ''}`).join('; ');
}

/** The HTTP status and the SOAP answer, as an outcome or a coded error. */
export function judge(status: number, answer: DmpAnswer): DmpOutcome {
  if (answer.kind === 'registry') {
    if (answer.status === 'success') return { status: 'success', errors: [] };
    if (answer.status === 'partial') return { status: 'partial', errors: answer.errors };
    const errors = answer.errors.filter((e) => !/Warning$/.test(e.severity));
    if (errors.length > 0 && errors.every((e) => e.errorCode === DUPLICATE_UNIQUE_ID)) return { status: 'duplicate', errors };
    if (errors.some((e) => TRANSIENT_REGISTRY.has(e.errorCode))) throw new PasserelleError('PSL_DMP_UNAVAILABLE', `DMP busy: ${describe(errors)}`.slice(0, 500));
    throw new PasserelleError('PSL_DMP_REFUSED', `DMP refused: ${describe(errors) || 'Failure without an error'}`.slice(0, 1000));
  }
  if (answer.kind === 'fault') {
    const what = `SOAP fault ${answer.code}${answer.subcode ? `/${answer.subcode}` : ''}: ${answer.reason}`.slice(0, 500);
    // SOAP 1.2: a Receiver fault is the server's trouble (later), anything else is the request's.
    if (/Receiver$/.test(answer.code)) throw new PasserelleError('PSL_DMP_UNAVAILABLE', what);
    throw new PasserelleError('PSL_DMP_REFUSED', what);
  }
  if (status >= 500 || status === 408 || status === 429) throw new PasserelleError('PSL_DMP_UNAVAILABLE', `DMP answered HTTP ${status}`);
  throw new PasserelleError('PSL_DMP_REFUSED', `DMP answered HTTP ${status} without a registry response: ${answer.excerpt}`.slice(0, 500));
}
