/**
 * JSON that keeps binary values: Buffers and Uint8Arrays (ED results, a subcontractor's PDF)
 * travel as `{"$base64": "…"}` and come back as Buffers. Plain JSON would turn them into
 * arrays of numbers, and structured cloning into Uint8Arrays without Buffer's methods. Used for
 * report states in the store and for reports crossing to render threads.
 */
const BINARY = '$base64';

export function toWireJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key]; // before Buffer#toJSON
    return original instanceof Uint8Array ? { [BINARY]: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') } : v;
  });
}

export function fromWireJson<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const b64 = (v as Record<string, unknown>)[BINARY];
      if (typeof b64 === 'string' && Object.keys(v).length === 1) return Buffer.from(b64, 'base64');
    }
    return v;
  }) as T;
}
