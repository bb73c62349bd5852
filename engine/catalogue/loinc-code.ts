/**
 * LOINC code syntax: `<digits>-<check digit>`, the check digit being the mod-10 one LOINC
 * publishes (Luhn: from the right, every other digit starting with the last is doubled, digits
 * of the products summed; the check digit brings the sum to a multiple of ten).
 */

const SHAPE = /^(\d{1,7})-(\d)$/;

/** The check digit of the numeric part of a LOINC code (`1988` → 5). */
export function loincCheckDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** Why `code` is not a LOINC code, or undefined when it is well formed with the right check digit. */
export function loincCodeProblem(code: string): string | undefined {
  const m = SHAPE.exec(code);
  if (!m) return `"${code}" is not a LOINC code (digits, a dash, one check digit: 1988-5)`;
  const want = loincCheckDigit(m[1]);
  if (want !== Number(m[2])) return `"${code}" has a wrong LOINC check digit (${m[1]}-${want} would be valid)`;
  return undefined;
}

export function isLoincCode(code: string): boolean {
  return loincCodeProblem(code) === undefined;
}
