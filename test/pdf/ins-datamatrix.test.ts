import {
  GS,
  INS_DATAMATRIX_HEADER,
  encodeInsDatamatrix,
  insDatamatrixPayload,
  normaliseInsName,
} from '../../engine/pdf';
import { PasserelleError } from '../../engine/errors';
import { QUALIFIED_PAYLOAD, nonQualifiedPatient, qualifiedPatient } from './fixtures';

// Golden strings of shared/docs/dmp-mss-ins.md §3.3 (Mediboard tests, PHP payload test).
const GOLDEN_OID_20 =
  'IS010000000000000000000000S1123549685274612S225978456325481569525S3TEST1 TEST2 TEST\x1DS4DATAMATRIXTEST\x1DS5MS631-08-2021S717000';
const GOLDEN_OID_19 =
  'IS010000000000000000000000S1123549685274612S22597845632548156952\x1DS3TEST1 TEST2 TEST\x1DS4DATAMATRIXTEST\x1DS5MS631-08-2021S799255';
const GOLDEN_LOVELACE =
  'IS010000000000000000000000S1185057512345673S21.2.250.1.213.1.4.8\x1DS3ADA\x1DS4LOVELACE\x1DS5FS610-12-1815S799100';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PasserelleError ? err.code : 'not coded';
  }
  return undefined;
}

describe('INS Datamatrix payload', () => {
  it('has the 26-character IS01 header', () => {
    expect(INS_DATAMATRIX_HEADER).toBe('IS010000000000000000000000');
    expect(GS).toBe('\x1D');
  });

  it('reproduces the Mediboard goldens: GS after S2 only when the OID is shorter than 20', () => {
    const fields = { matricule: '123549685274612', birthGivens: 'TEST1 TEST2 TEST', birthFamily: 'DATAMATRIXTEST', sex: 'M' as const, birthDate: '31-08-2021' };
    expect(encodeInsDatamatrix({ ...fields, oid: '25978456325481569525', birthplace: '17000' })).toBe(GOLDEN_OID_20);
    expect(encodeInsDatamatrix({ ...fields, oid: '2597845632548156952', birthplace: '99255' })).toBe(GOLDEN_OID_19);
  });

  it('reproduces the 104-character Ada Lovelace golden from a qualified Patient', () => {
    const payload = insDatamatrixPayload({
      birthFamily: 'Lovelace',
      firstBirthGiven: 'Ada',
      birthGivens: 'Ada',
      birthDate: '18151210',
      sex: 'F',
      birthplaceCode: '99100',
      identifiers: [],
      reliability: 'VALI',
      ins: { matricule: '185057512345673', oid: '1.2.250.1.213.1.4.8', nature: 'NIR' },
    });
    expect(payload).toBe(GOLDEN_LOVELACE);
    expect(payload).toHaveLength(104);
  });

  it('joins all birth given names, removes accents and upper-cases (fixture identity)', () => {
    expect(insDatamatrixPayload(qualifiedPatient())).toBe(QUALIFIED_PAYLOAD);
  });

  it('normalises names to letters, space, hyphen and apostrophe', () => {
    expect(normaliseInsName('Hélène-Françoise  D’Arc')).toBe("HELENE-FRANCOISE D'ARC");
    expect(normaliseInsName('Lætitia Œdipe Müller')).toBe('LAETITIA OEDIPE MULLER');
    expect(normaliseInsName(' Jean.Pierre, 2e ')).toBe('JEANPIERRE E');
  });

  it('writes 99999 when the birthplace is unknown', () => {
    const p = { ...qualifiedPatient(), birthplaceCode: undefined };
    expect(insDatamatrixPayload(p).endsWith('S799999')).toBe(true);
  });

  it('does not end a name that reached 100 characters with GS, and truncates longer ones', () => {
    const long = 'A'.repeat(120);
    const p = insDatamatrixPayload({ ...qualifiedPatient(), birthFamily: long });
    expect(p).toContain(`S4${'A'.repeat(100)}S5F`);
  });

  it('refuses a non-qualified identity with a coded error', () => {
    expect(codeOf(() => insDatamatrixPayload(nonQualifiedPatient()))).toBe('PSL_INS_NOT_QUALIFIED');
  });

  it('refuses traits the format cannot carry', () => {
    expect(codeOf(() => insDatamatrixPayload({ ...qualifiedPatient(), sex: 'U' }))).toBe('PSL_INS_DATAMATRIX_INVALID');
    expect(codeOf(() => insDatamatrixPayload({ ...qualifiedPatient(), birthDate: '197903' }))).toBe('PSL_INS_DATAMATRIX_INVALID');
    expect(codeOf(() => insDatamatrixPayload({ ...qualifiedPatient(), birthDate: '19790300' }))).toBe('PSL_INS_DATAMATRIX_INVALID');
    const badIns = { ...qualifiedPatient(), ins: { matricule: '27903', oid: '1.2.250.1.213.1.4.8', nature: 'NIR' as const } };
    expect(codeOf(() => insDatamatrixPayload(badIns))).toBe('PSL_INS_DATAMATRIX_INVALID');
  });

  it('accepts a Corsican NIR (2A/2B department)', () => {
    const p = { ...qualifiedPatient(), ins: { matricule: '180072A12345678', oid: '1.2.250.1.213.1.4.8', nature: 'NIR' as const } };
    expect(insDatamatrixPayload(p)).toContain('S1180072A12345678S2');
  });
});
