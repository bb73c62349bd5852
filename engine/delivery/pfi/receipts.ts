/**
 * The PFI's business acknowledgements (ANS CDA-in-HL7v2 volet: ZAM^Z01 DMP reception, ZAM^Z02
 * MSSanté delivery, from the DSN; ZAM^Z03 MSSanté read, from the MDN), taken in on a channel
 * (`type: pfi-receipts` destination) and recorded against the version they answer: OBX-4 names
 * the MSH-10 we sent (`<filler order>.v<version>`). Each becomes a delivery row of its own
 * (`pfi>dmp`, `pfi>mss:<address>`, `pfi>read:<address>`), acknowledged or failed with the ERR.
 */
import type { Destination, OutboundMessage } from '../destination';
import type { Message } from '../../hl7';
import type { MessageStore } from '../../store';
import { PasserelleError } from '../../errors';
import { PFI_TARGET } from './pfi-delivery';

const KINDS: Record<string, { target: (address: string) => string; label: string }> = {
  ACK_RECEPTION_DMP: { target: () => `${PFI_TARGET}>dmp`, label: 'DMP' },
  ACK_RECEPTION_MSS: { target: (a) => `${PFI_TARGET}>mss:${a}`, label: 'MSSanté delivery' },
  ACK_LECTURE_MSS: { target: (a) => `${PFI_TARGET}>read:${a}`, label: 'MSSanté read' },
};

export interface Receipt {
  fillerOrder: string;
  version: number;
  target: string;
  ok: boolean;
  detail: string;
}

/** The receipts a ZAM carries. Throws PSL_RECEIPT_UNKNOWN when it answers no message of ours. */
export function readReceipts(msg: Message): Receipt[] {
  const out: Receipt[] = [];
  const obxs = msg.segments('OBX');
  const address = obxs.find((o) => ['DESTINATAIRE_MSS', 'LECTEUR_MSS'].includes(o.get('3.1')))?.get('5.4') ?? '';
  const err = msg.segment('ERR');
  const why = err ? [err.get('5.1'), err.get('5.2')].filter(Boolean).join(' ') : '';
  for (const o of obxs) {
    const kind = KINDS[o.get('3.1')];
    if (!kind || o.get('3.3') !== 'AckMetierZAM') continue;
    const m = /^(.+)\.v(\d+)$/.exec(o.get('4'));
    if (!m) throw new PasserelleError('PSL_RECEIPT_UNKNOWN', `${kind.label} receipt for ${JSON.stringify(o.get('4'))}: not a message of ours (<filler order>.v<version>)`);
    const ok = o.get('5.1').toUpperCase() === 'Y';
    out.push({ fillerOrder: m[1]!, version: Number(m[2]), target: kind.target(address), ok, detail: `${kind.label} ${ok ? 'acknowledged' : 'refused'}${why ? `: ${why}` : ''} (ZAM ${msg.controlId})` });
  }
  if (out.length === 0) throw new PasserelleError('PSL_RECEIPT_UNKNOWN', 'no ACK_RECEPTION_DMP / ACK_RECEPTION_MSS / ACK_LECTURE_MSS in the message');
  return out;
}

export class PfiReceiptsDestination implements Destination {
  constructor(
    readonly name: string,
    private readonly store: Pick<MessageStore, 'findVersionDeliveries' | 'putVersionDelivery'>,
  ) {}

  async deliver(out: OutboundMessage): Promise<string> {
    const done: string[] = [];
    for (const r of readReceipts(out.message)) {
      const sent = (await this.store.findVersionDeliveries({ fillerOrder: r.fillerOrder, limit: 10_000 })).find((d) => d.version === r.version && d.target === PFI_TARGET);
      if (!sent) throw new PasserelleError('PSL_RECEIPT_UNKNOWN', `receipt for ${r.fillerOrder} v${r.version}: no such version was sent to the PFI`);
      await this.store.putVersionDelivery({ lab: sent.lab, fillerOrder: r.fillerOrder, version: r.version, target: r.target, state: r.ok ? 'acknowledged' : 'failed', detail: r.detail });
      done.push(`${r.fillerOrder}/v${r.version}/${r.target} ${r.ok ? 'acknowledged' : 'failed'}`);
    }
    return done.join('; ');
  }

  async close(): Promise<void> {}
}
