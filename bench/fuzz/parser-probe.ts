/**
 * Drives the HL7 library in-process with a fuzzed frame: decode, parse, read, serialize, NAK.
 * Anything but an Hl7Error is a finding (the intake only expects Hl7Errors from it).
 */
import { FrameDecoder } from '../../engine/mllp/framing';
import { Hl7Error, Message, accept, decode, nakFromRaw } from '../../engine/hl7';
import type { Rng } from './mutate';

const PATHS = ['MSH-10', 'MSH-9.1', 'MSH-9.2', 'MSH-12', 'MSH-18', 'PID-3[1].1', 'PID-3[2].4.2', 'PID-5.1', 'ORC-2.1', 'OBR-2.1', 'OBX-5', 'OBX(2)-5.5', 'NTE-3'];

export function probeParser(payload: Buffer, wire: Buffer, rng: Rng): Error | undefined {
  try {
    // Each decode mode on a share of the frames (the engine uses the default one on all of them).
    const r = rng();
    const modes = r < 0.8 ? [undefined] : r < 0.9 ? [true] : [false];
    for (const strict of modes) {
      let text: string;
      try {
        text = decode(payload, { strict }).text;
      } catch (e) {
        if (e instanceof Hl7Error) continue;
        throw e;
      }
      let msg: Message;
      try {
        msg = Message.parse(text);
      } catch (e) {
        if (!(e instanceof Hl7Error)) throw e;
        const nak = nakFromRaw(text, e, { code: 'AR' });
        Message.parse(nak); // a NAK we send must parse
        continue;
      }
      for (const p of PATHS) {
        try {
          msg.get(p);
          msg.getRaw(p);
          msg.count(p.split('.')[0]!.replace(/\[\d+\]/, ''));
        } catch (e) {
          if (!(e instanceof Hl7Error)) throw e;
        }
      }
      accept(msg, { messageTypes: ['ORU^R01', 'OUL^R22'], versions: ['2.5'] });
      msg.toString();
      try {
        msg.set('MSH-10', 'FUZZ|^~\\&X');
        Message.parse(msg.toString());
      } catch (e) {
        if (!(e instanceof Hl7Error)) throw e;
      }
    }
    // The MLLP decoder with the wire bytes cut at random places.
    const d = new FrameDecoder({ maxFrameBytes: 512 * 1024 });
    let from = 0;
    while (from < wire.length) {
      const to = Math.min(wire.length, from + 1 + Math.floor(rng() * 8192));
      d.push(wire.subarray(from, to));
      from = to;
    }
    return undefined;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
