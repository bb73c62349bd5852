import { INS_OIDS, isQualifiedIdentity, isValidIns, nirKey, qualifyIns } from '../../engine/lab/ins';

describe('NIR key', () => {
  test.each([
    ['2790351215189', 89], // ANS test INS
    ['1850575123456', 73],
    ['2070585756270', 97], // N mod 97 = 0: key 97, never 00
  ])('%s → %i', (nir, key) => {
    expect(nirKey(nir)).toBe(key);
  });

  test('Corsica: 2A counts as 19, 2B as 18 (i.e. department 20 minus 1 or 2 million)', () => {
    const official = (nir: string, minus: bigint): number => 97 - Number((BigInt(nir.replace(/2[AB]/, '20')) - minus) % 97n);
    expect(nirKey('172062A004123')).toBe(official('172062A004123', 1_000_000n));
    expect(nirKey('172062A004123')).toBe(30);
    expect(nirKey('283112B050215')).toBe(official('283112B050215', 2_000_000n));
    expect(nirKey('283112B050215')).toBe(16);
    expect(nirKey('248092a203456')).toBe(42); // lower-case accepted
  });

  test('rejects what is not a 13-character NIR', () => {
    for (const bad of ['', '279035121518', '27903512151899', '2790351A15189', '2790X51215189']) expect(() => nirKey(bad)).toThrow(RangeError);
  });

  test('isValidIns checks length, format and key', () => {
    expect(isValidIns('279035121518989')).toBe(true);
    expect(isValidIns('207058575627097')).toBe(true);
    expect(isValidIns('172062A00412330')).toBe(true);
    expect(isValidIns('283112B05021516')).toBe(true);
    expect(isValidIns('279035121518988')).toBe(false); // wrong key
    expect(isValidIns('207058575627000')).toBe(false); // 00 is never a key
    expect(isValidIns('248092A203456')).toBe(false); // 13 chars: key missing
    expect(isValidIns('123549685274612')).toBe(false); // Mediboard datamatrix test NIR: invalid key
    expect(isValidIns('27903512151898X')).toBe(false);
  });
});

describe('INS qualification (SGL.INS.37: no INS in documents unless qualified)', () => {
  const TEST_OID = '1.2.250.1.213.1.4.10';
  const good = { matricule: '279035121518989', oid: TEST_OID };

  test('the OID table', () => {
    expect(Object.keys(INS_OIDS).sort()).toEqual(['1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11', '1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9']);
    expect(INS_OIDS['1.2.250.1.213.1.4.9'].nature).toBe('NIA');
  });

  test('VALI + known OID + valid key → INS', () => {
    expect(qualifyIns(good, 'VALI')).toEqual({ ins: { matricule: '279035121518989', oid: TEST_OID, nature: 'NIR' } });
    expect(qualifyIns({ matricule: '185057512345673', oid: '1.2.250.1.213.1.4.8' }, ['VALI']).ins?.nature).toBe('NIR');
    expect(qualifyIns({ matricule: '185057512345673', oid: '1.2.250.1.213.1.4.9' }, 'VALI').ins?.nature).toBe('NIA');
  });

  test('the RNIV status QUAL is accepted too; repetitions are read', () => {
    expect(qualifyIns(good, 'QUAL').ins).toBeDefined();
    expect(qualifyIns(good, ['PROV', 'VALI']).ins).toBeDefined();
    expect(isQualifiedIdentity('VALI~IDVER')).toBe(true);
  });

  test.each([['PROV'], ['RECD'], ['DOUT'], ['FICT'], ['VIDE'], ['']])('PID-32 %j → no INS, with a reason', (status) => {
    const d = qualifyIns(good, status);
    expect(d.ins).toBeUndefined();
    expect(d.refusedReason).toMatch(/not qualified/);
  });

  test('a doubtful or fictitious status cancels VALI', () => {
    expect(qualifyIns(good, ['VALI', 'DOUT']).ins).toBeUndefined();
    expect(qualifyIns(good, 'VALI~FICT').refusedReason).toMatch(/not qualified/);
  });

  test('bad key → no INS', () => {
    const d = qualifyIns({ matricule: '279035121518988', oid: TEST_OID }, 'VALI');
    expect(d.ins).toBeUndefined();
    expect(d.refusedReason).toBe('INS matricule key is invalid');
    expect(qualifyIns({ matricule: '248092A203456', oid: TEST_OID }, 'VALI').refusedReason).toMatch(/13 characters, 15 expected/);
  });

  test('unknown OID, obsolete INS-C → no INS', () => {
    expect(qualifyIns({ ...good, oid: '1.2.250.1.999.1' }, 'VALI').refusedReason).toMatch(/unknown INS assigning authority OID/);
    expect(qualifyIns({ ...good, oid: '' }, 'VALI').ins).toBeUndefined();
    expect(qualifyIns({ ...good, oid: '1.2.250.1.213.1.4.2' }, 'VALI').refusedReason).toMatch(/INS-C/);
  });

  test('production channels refuse the test and demo OIDs', () => {
    expect(qualifyIns(good, 'VALI', { production: true }).refusedReason).toMatch(/production/);
    expect(qualifyIns({ ...good, oid: '1.2.250.1.213.1.4.8' }, 'VALI', { production: true }).ins).toBeDefined();
  });

  test('nothing received → nothing to say', () => {
    expect(qualifyIns(undefined, 'VALI')).toEqual({});
  });
});
