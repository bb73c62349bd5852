/**
 * Transform handler of the sample `orders` channel (a TypeScript handler: compiled by
 * `npm run build` to dist/mappings/orders-to-lis.js, which the channel loads).
 * Addresses the order to the lab system and fills MSH-9.3 (message structure) when an older
 * sender left it empty, so the LIS always gets `ORM^O01^ORM_O01` / `OML^O21^OML_O21`.
 */
import type { Message } from '../engine/hl7';
import type { StageContext } from '../engine/channels/transform';

const STRUCTURE: Record<string, string> = { 'ORM^O01': 'ORM_O01', 'OML^O21': 'OML_O21' };

export function transform(msg: Message, _ctx: StageContext): Message {
  msg.set('MSH-5', 'LIS');
  msg.set('MSH-6', 'LAB');
  if (!msg.get('MSH-9.3') && STRUCTURE[msg.messageType]) msg.set('MSH-9.3', STRUCTURE[msg.messageType]!);
  return msg;
}
