/**
 * Scripted partners on real MLLP sockets for order flows: a clinical service's listener (status
 * changes back) and a subcontracting lab (sub-orders in). Each keeps what it received and
 * answers as its script says; a script returning null loses the answer (no reply on the wire).
 */
import { Message, decode } from '../../engine/hl7';
import { MllpServer } from '../../engine/mllp';

export type Script = (m: Message, n: number) => string | null;

export class ScriptedPeer {
  readonly received: Message[] = [];
  private readonly server: MllpServer;

  constructor(port: number, script: Script) {
    this.server = new MllpServer({
      host: '127.0.0.1',
      port,
      handler: async (frame) => {
        const m = Message.parse(decode(frame).text);
        this.received.push(m);
        const answer = script(m, this.received.length);
        return answer === null ? null : Buffer.from(answer, 'utf8');
      },
    });
  }

  listen(): Promise<unknown> {
    return this.server.listen();
  }

  close(): Promise<void> {
    return this.server.close({ drainDeadlineMs: 500 });
  }
}

/** ORL^O22 answering an order message: MSA, its PID, and one ORC per order with `orc1` (OK, UA, CR, UC). */
export function orl(m: Message, orc1: string, n: number, err?: string): string {
  const lines = [
    `MSH|^~\\&|SIL-SOUSTRAITANT|LABO-SPECIALISE|${m.get('MSH-3')}|${m.get('MSH-4')}|20261125080000||ORL^O22^ORL_O22|ORL-${n}|P|2.5`,
    `MSA|${orc1 === 'UA' || orc1 === 'UC' ? 'AE' : 'AA'}|${m.controlId}`,
    ...(err ? [`ERR||||E||||${err}`] : []),
    ...(m.segment('PID') ? [m.segment('PID')!.toString()] : []),
    ...m.segments('ORC').map((o) => `ORC|${orc1}|${o.getRaw('2')}|ST-${5500 + n}^SIL-SOUSTRAITANT`),
  ];
  return lines.join('\r') + '\r';
}

/** A plain ACK AA to whatever came. */
export function ackAa(m: Message, n: number): string {
  return `MSH|^~\\&|DPI|CHU-DEMO|SIL-LABO|LABO-DEMO|20261125080000||ORL^O22^ORL_O22|P-${n}|P|2.5\rMSA|AA|${m.controlId}\r`;
}
