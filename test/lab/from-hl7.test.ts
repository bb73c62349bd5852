import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Message, decode } from '../../engine/hl7';
import { PasserelleError } from '../../engine/errors';
import { reportFromMessage } from '../../engine/lab';
import type { Report, Result, ResultValue } from '../../engine/lab/report';

const SAMPLES = resolve(__dirname, '../../samples');
const parse = (name: string): Message => Message.parse(decode(readFileSync(join(SAMPLES, name))).text);
const report = (name: string): Report => reportFromMessage(parse(name));
const results = (r: Report): Result[] => r.requests.flatMap((q) => q.results);
const byCode = (r: Report, code: string): Result => {
  const found = results(r).find((x) => x.code.loinc?.code === code || x.code.local?.code === code);
  if (!found) throw new Error(`no result ${code}`);
  return found;
};
const sn = (v: ResultValue): Extract<ResultValue, { type: 'SN' }> => {
  if (v.type !== 'SN') throw new Error(`not SN: ${v.type}`);
  return v;
};
const cwe = (v: ResultValue): Extract<ResultValue, { type: 'CWE' }>['coded'] => {
  if (v.type !== 'CWE') throw new Error(`not CWE: ${v.type}`);
  return v.coded;
};
const text = (v: ResultValue): string => {
  if (v.type !== 'ST' && v.type !== 'TX' && v.type !== 'FT') throw new Error(`not text: ${v.type}`);
  return v.text;
};

function codeOf(e: unknown): string {
  expect(e).toBeInstanceOf(PasserelleError);
  return (e as PasserelleError).code;
}
function errorOf(f: () => unknown): PasserelleError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PasserelleError);
    return e as PasserelleError;
  }
  throw new Error('expected an error');
}

test('every ORU/OUL sample becomes a report with results, a patient and a chapter', () => {
  const files = readdirSync(SAMPLES).filter((f) => /^(oru-r01|oul-r22)_.*\.hl7$/.test(f));
  expect(files.length).toBeGreaterThanOrEqual(11);
  for (const f of files) {
    const r = report(f);
    expect(r.sourceControlId).not.toBe('');
    expect(r.patient.birthFamily).not.toBe('');
    expect(r.dossier).not.toBe('');
    expect(results(r).length).toBeGreaterThan(0);
    for (const q of r.requests) expect(q.chapter.code).toMatch(/^\d+-\d$/);
    // ids are unique within a report
    const ids = results(r).map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
  }
});

describe('biochemistry', () => {
  const r = report('oru-r01_biochemistry.hl7');

  test('patient: INS qualified, birth and used names, birthplace, local ids apart', () => {
    expect(r.patient).toMatchObject({
      birthFamily: 'PAT-TROIS',
      firstBirthGiven: 'DOMINIQUE',
      usedFamily: 'MARTIN-TEST',
      birthDate: '19790328',
      sex: 'F',
      birthplaceCode: '63220',
      reliability: 'VALI',
      ins: { matricule: '279035121518989', oid: '1.2.250.1.213.1.4.10', nature: 'NIR' },
    });
    expect(r.patient.identifiers).toEqual([{ id: 'LAB-100201', authorityOid: '1.2.250.1.999.1.1', authorityName: 'LABO-DEMO', type: 'PI' }]);
    expect(r.patient.insRefusedReason).toBeUndefined();
  });

  test('dossier from PID-18, order from ORC-4, prescriber with MSSanté from ORC-14, copies from OBR-28', () => {
    expect(r.dossier).toBe('DOS-2026-100201');
    expect(r.orderId).toBe('GRP-2001');
    expect(r.prescriber).toMatchObject({ id: '810001234567', idAuthorityOid: '1.2.250.1.71.4.2.1', family: 'MEDECIN-TEST', mssante: 'claire.medecin-test@medecin.mssante.fr', telecom: ['tel:0123456789'] });
    expect(r.prescriberOrganization).toMatchObject({ name: 'Cabinet Médical Démo', id: '920000123', idRoot: '1.2.250.1.71.4.2.2' });
    expect(r.copiesTo).toEqual([expect.objectContaining({ id: '810009876543', family: 'CORRESPONDANT' })]);
  });

  test('NM values, French units mapped to UCUM, ranges and flags', () => {
    const glu = byCode(r, '2345-7');
    expect(glu).toMatchObject({ value: { type: 'NM', value: '1.32' }, unitText: 'g/l', unit: 'g/L', range: { text: '0.70-1.10', low: '0.70', high: '1.10' }, flags: ['H'], status: 'final' });
    expect(glu.code.local).toMatchObject({ code: 'GLY', systemName: 'L' });
    expect(byCode(r, '14682-9')).toMatchObject({ unitText: 'µmol/l', unit: 'umol/L', flags: ['H'] });
    expect(byCode(r, '2823-3').range).toEqual({ text: '3.5 - 5.1', low: '3.5', high: '5.1' });
    expect(byCode(r, '1742-6')).toMatchObject({ unit: '[IU]/L', range: { text: '<41', high: '41' } });
    expect(byCode(r, '3016-3').unit).toBe('m[IU]/L');
    expect(byCode(r, '2085-9')).toMatchObject({ unit: 'g/L', range: { low: '0.40' }, flags: ['L'] });
    // eGFR per 1.73 m²: no UCUM code the ANS terminology check accepts, so the unit stays text.
    expect(byCode(r, '62238-1')).toMatchObject({ unitText: 'ml/min/1,73m²', range: { text: '>60', low: '60' } });
    expect(byCode(r, '62238-1').unit).toBeUndefined();
    expect(byCode(r, '2085-9').comments).toEqual([{ text: 'HDL bas : à recontrôler dans 3 mois.' }]);
  });

  test('validation: OBX-16 else OBR-32; AUTO marks auto-validation', () => {
    expect(byCode(r, '14682-9').validator).toMatchObject({ id: '810002345678', family: 'BIOLOGISTE-DEMO' });
    expect(byCode(r, '2345-7').validator).toMatchObject({ id: '810002345678', family: 'BIOLOGISTE-DEMO' }); // OBR-32
    expect(byCode(r, '1742-6')).toMatchObject({ autoValidated: true });
    expect(byCode(r, '1742-6').validator).toBeUndefined();
    expect(r.autoValidated).toBe(true);
    expect(r.completeness).toBe('complete');
    expect(r.receivedAt).toBe('20261126080500');
    expect(r.validatedAt).toBe('20261126100000');
    expect(r.requests[0].chapter).toEqual({ code: '18719-5', display: 'Biochimie', system: '2.16.840.1.113883.6.1', systemName: 'LN' });
  });
});

test('haematology: a full NFS with G/L, T/L, fL, pg, %, 10^9/l', () => {
  const r = report('oru-r01_haematology.hl7');
  expect(results(r)).toHaveLength(18);
  expect(r.requests[0].chapter.code).toBe('18723-7');
  expect(byCode(r, '6690-2')).toMatchObject({ value: { type: 'NM', value: '11.8' }, unit: '10*9/L', flags: ['H'] });
  expect(byCode(r, '789-8')).toMatchObject({ unit: '10*12/L', flags: ['L'] });
  expect(byCode(r, '718-7').unit).toBe('g/dL');
  expect(byCode(r, '787-2').unit).toBe('fL');
  expect(byCode(r, '785-6').unit).toBe('pg');
  expect(byCode(r, '770-8').unit).toBe('%');
  expect(byCode(r, '751-8')).toMatchObject({ unitText: '10^9/l', unit: '10*9/L' });
  expect(r.patient.birthGivens).toBe('LUCAS MARC');
  expect(byCode(r, '704-7').comments[0].text).toMatch(/morphologique/); // NTE after the last OBX belongs to it
});

test('serology: CWE values (SNOMED CT and local codes), chapter from OBR-24, Corsica-born INS', () => {
  const r = report('oru-r01_serology.hl7');
  expect(r.requests[0].chapter).toMatchObject({ code: '18727-8', display: 'Sérologie' });
  expect(cwe(byCode(r, '5196-1').value)).toEqual({ code: '260385009', display: 'Négatif', systemName: 'SCT', system: '2.16.840.1.113883.6.96' });
  expect(cwe(byCode(r, '13955-0').value)).toMatchObject({ code: '10828004', display: 'Positif' });
  expect(byCode(r, '13955-0').flags).toEqual(['A']);
  expect(cwe(byCode(r, 'TOXOG').value)).toEqual({ code: 'POS', display: 'Positif (immunisée)', systemName: 'L' });
  expect(byCode(r, '16935-9')).toMatchObject({ unit: 'm[IU]/mL', range: { low: '10' } });
  expect(r.patient.ins?.matricule).toBe('172062A00412330');
  expect(r.patient.birthplaceCode).toBe('2A004');
});

test('SN values: comparators, ratio, range', () => {
  const r = report('oru-r01_sn-values.hl7');
  expect(sn(byCode(r, '1988-5').value)).toEqual({ type: 'SN', comparator: '<', num1: '5', text: '<5' });
  expect(sn(byCode(r, '2276-4').value)).toEqual({ type: 'SN', comparator: '>', num1: '1500', text: '>1500' });
  expect(byCode(r, '2276-4').unit).toBe('ug/L');
  expect(sn(byCode(r, 'TPHA').value)).toEqual({ type: 'SN', num1: '1', separator: ':', num2: '128', text: '1:128' });
  expect(sn(byCode(r, '2132-9').value)).toMatchObject({ comparator: '>=', num1: '2000', text: '>=2000' });
  expect(sn(byCode(r, 'VS').value)).toMatchObject({ num1: '10', separator: '-', num2: '20', text: '10-20' });
  // local battery code, chapter decided by OBR-24 = CH
  expect(r.requests[0].chapter.code).toBe('18719-5');
  expect(r.patient.ins?.matricule).toBe('283112B05021516');
});

test('microbiology: isolates (sub-id n) with their antibiogram (sub-id n.x, S/I/R in OBX-8)', () => {
  const r = report('oru-r01_microbiology.hl7');
  const q = r.requests[0];
  expect(q.chapter.code).toBe('18725-2');
  expect(q.isolates).toHaveLength(2);
  const [ecoli, kpn] = q.isolates ?? [];
  expect(ecoli.organism).toMatchObject({ code: '112283007', display: 'Escherichia coli', system: '2.16.840.1.113883.6.96' });
  expect(ecoli.susceptibilities.map((s) => [s.code.loinc?.code, s.subId, s.flags[0]])).toEqual([
    ['28-1', '1.1', 'R'],
    ['20-8', '1.2', 'I'],
    ['18928-2', '1.3', 'S'],
    ['18906-8', '1.4', 'S'],
  ]);
  expect(sn(ecoli.susceptibilities[0].value)).toMatchObject({ comparator: '>=', num1: '32' });
  expect(ecoli.susceptibilities[3].comments[0].text).toBe('E. coli BLSE non détectée.');
  expect(kpn.organism.code).toBe('56415008');
  expect(kpn.susceptibilities).toHaveLength(1);
  expect(byCode(r, '51480-2')).toMatchObject({ unit: '[CFU]/mL' });
  expect(text(byCode(r, '48767-8').value)).toBe('Infection urinaire à E. coli\net K. pneumoniae (>= 10^5 UFC/ml).\nContrôle après traitement conseillé.');
  // isolates regroup, they do not remove: every OBX is still a result
  expect(q.results).toHaveLength(11);
});

test('comments: NTE attach to the segment before them, escapes decoded, FT/TX line breaks', () => {
  const r = report('oru-r01_comments-escapes.hl7');
  expect(r.comments.map((c) => c.text)).toEqual(['Renseignements cliniques | fièvre 39 °C ^ toux & dyspnée', 'Dossier transmis : C:\\LABO\\CR\\7001.pdf']);
  expect(r.comments[0].text).not.toContain('\\');
  expect(r.requests[0].comments).toEqual([{ text: 'Tube EDTA~citrate reçus ; Caféine non signalée' }]);
  expect(byCode(r, '718-7').comments).toEqual([{ text: 'Valeur contrôlée & confirmée\nsur second passage' }]);
  expect(byCode(r, '18314-5').value).toEqual({ type: 'FT', text: "Conclusion :\nHémogramme normal.\n\nPas d'anomalie & pas de blastes." });
  expect(byCode(r, '48767-8').value).toEqual({ type: 'TX', text: 'Ligne 1 : contrôle dans 1 mois\nLigne 2 : ratio A^B = 2' });
  expect(byCode(r, 'COMM').value).toEqual({ type: 'ST', text: 'Hémolyse | lipémie : absentes' });
});

test('ISO 8859-15: the bytes are Latin-9 and decode to accents, € and œ', () => {
  const bytes = readFileSync(join(SAMPLES, 'oru-r01_latin9.hl7'));
  expect(bytes.includes(0xa4)).toBe(true); // € in 8859-15
  expect(bytes.includes(0xbd)).toBe(true); // œ in 8859-15
  expect(bytes.includes(Buffer.from('é', 'utf8'))).toBe(false);
  const decoded = decode(bytes);
  expect(decoded.charset).toBe('iso-8859-15');
  const r = reportFromMessage(Message.parse(decoded.text));
  expect(r.comments[0].text).toBe('Prélèvement effectué à domicile ; œdème des membres inférieurs signalé.');
  expect(r.requests[0].comments[0].text).toBe("Acte hors nomenclature : 12,50 € à la charge du patient (reçu à l'accueil).");
  expect(byCode(r, '2823-3').comments[0].text).toContain('cœur');
  expect(byCode(r, '14682-9').code.local?.display).toBe('Créatininémie');
  expect(r.patient.usedGiven).toBe('François');
  expect(r.patient.address?.street).toEqual(["12 rue de l'Église"]);
});

test('subcontracting: OBX-23/24/25 performer, OBX-19 performedAt, request performer when all agree', () => {
  const r = report('oru-r01_subcontracting.hl7');
  const vitd = byCode(r, '1989-3');
  expect(vitd.performer).toEqual({
    organization: {
      name: 'Laboratoire de Biologie Spécialisée Exemple',
      id: '950000017',
      idRoot: '1.2.250.1.71.4.2.2',
      address: { street: ['4 avenue des Analyses'], city: 'CERGY', postalCode: '95000', country: 'FRA' },
    },
    director: expect.objectContaining({ id: '810003456789', family: 'DIRECTEUR-SPE' }),
    performedAt: '20261129160000',
  });
  expect(vitd.validator?.family).toBe('BIOLOGISTE-SPE');
  expect(r.requests[0].performer?.organization.id).toBe('950000017');
  expect(r.requests[1].performer).toBeUndefined(); // mixed: own results + one subcontracted
  expect(byCode(r, '2532-0').performer?.organization.name).toBe('Laboratoire de Biologie Spécialisée Exemple');
  expect(byCode(r, '2093-3').performer).toBeUndefined();
  // the report's biologist is the reporting lab's, not the subcontractor's
  expect(r.validator?.family).toBe('BIOLOGISTE-DEMO');
  expect(r.validatedAt).toBe('20261129161500');
});

test('the existing ILW sample: performer from OBX-23 with FINESS', () => {
  const r = report('oru-r01_ilw_subcontracted.hl7');
  expect(results(r)[0].performer?.organization).toMatchObject({ name: 'Laboratoire Spécialisé Exemple', id: '750000009', idRoot: '1.2.250.1.71.4.2.2' });
  expect(r.patient.ins?.matricule).toBe('248092A20345642');
});

test('non-qualified identity (PID-32 PROV): INS received but not for documents; partial report', () => {
  const r = report('oru-r01_identity-prov.hl7');
  expect(r.patient.reliability).toBe('PROV');
  expect(r.patient.insReceived).toEqual({ matricule: '207058575627097', oid: '1.2.250.1.213.1.4.10', nature: 'NIR' });
  expect(r.patient.ins).toBeUndefined();
  expect(r.patient.insRefusedReason).toMatch(/not qualified \(PID-32 PROV\)/);
  expect(r.patient.identifiers.map((i) => i.id)).toEqual(['LAB-101001']);
  expect(r.completeness).toBe('partial');
  expect(byCode(r, '2284-8')).toMatchObject({ status: 'pending', value: { type: 'none' } });
  // B12FOL: the lab's catalogue puts the exam in BIOCH, whose LOINC chapter is 18719-5 (mappings/catalogue.yaml, loinc.yaml)
  expect(r.requests[0].chapter.code).toBe('18719-5');
});

test('OUL^R22: specimen-led groups, ORC after OBR, specimen observations, PRT copy with MSSanté', () => {
  const r = report('oul-r22_specimens.hl7');
  expect(r.messageType).toBe('OUL^R22');
  expect(r.requests.map((q) => [q.code.loinc?.code, q.specimens.map((s) => s.id), q.chapter.code, q.status])).toEqual([
    ['58410-2', ['SPM-1101'], '18723-7', 'final'],
    ['2889-4', ['SPM-1102'], '18719-5', 'preliminary'],
  ]);
  expect(r.requests[0].comments.map((c) => c.text)).toEqual(['Tube reçu à température ambiante.', 'Numération contrôlée sur lame.']);
  const urine = r.requests[1].specimens[0];
  expect(urine.observations?.map((o) => [o.code.loinc?.code, o.value, o.unit])).toEqual([['3167-4', { type: 'NM', value: '1850' }, 'mL']]);
  expect(urine.collectedAt).toBe('20261125080000');
  expect(results(r).map((x) => x.code.loinc?.code)).not.toContain('3167-4');
  expect(byCode(r, '2889-4').unit).toBe('g/(24.h)');
  expect(r.dossier).toBe('GRP-1101');
  expect(r.prescriber?.mssante).toBe('claire.medecin-test@medecin.mssante.fr');
  expect(r.copiesTo).toEqual([expect.objectContaining({ id: '810009876543', mssante: 'paul.correspondant@medecin.mssante.fr' })]);
  expect(r.completeness).toBe('partial');
  expect(r.patient.ins?.matricule).toBe('248092A20345642');
});

describe('bad input gives a coded error, never a crash', () => {
  const MSH = 'MSH|^~\\&|SIL|LAB|DPI|CHU|20261126||ORU^R01^ORU_R01|BAD-1|P|2.5|||||FRA|UNICODE UTF-8';
  const PID = 'PID|1||123^^^LAB&1.2.250.1.999&ISO^PI||DOE-TEST^JANE^^^^^L||19800101|F';
  const OBR = 'OBR|1|C1|F1|2345-7^Glucose^LN|||20261126';
  const OBX = 'OBX|1|NM|2345-7^Glucose^LN||1.0|g/L|||||F';
  const build = (...segs: string[]): Message => Message.parse(segs.join('\r'));

  test.each([
    ['no PID', [MSH, OBR, OBX], 'PSL_REPORT_NO_PATIENT'],
    ['an empty PID', [MSH, 'PID|1', OBR, OBX], 'PSL_REPORT_NO_PATIENT'],
    ['no OBR', [MSH, PID], 'PSL_REPORT_NO_RESULTS'],
    ['an OBR without OBX', [MSH, PID, OBR], 'PSL_REPORT_NO_RESULTS'],
    ['two patients', [MSH, PID, OBR, OBX, PID, OBR, OBX], 'PSL_REPORT_MULTIPLE_PATIENTS'],
    ['an OBX before any OBR', [MSH, PID, OBX, OBR, OBX], 'PSL_REPORT_INVALID'],
    ['an ED that is not base64', [MSH, PID, OBR, 'OBX|1|ED|11502-2^CR^LN||^AP^PDF^Base64^not*base64!||||||F'], 'PSL_REPORT_BAD_VALUE'],
    ['another message type', [MSH.replace('ORU^R01^ORU_R01', 'ADT^A01^ADT_A01'), PID], 'PSL_REPORT_UNSUPPORTED_TYPE'],
  ])('%s', (_what, segs, code) => {
    const e = errorOf(() => reportFromMessage(build(...segs)));
    expect(e.code).toBe(code);
    expect(e.retry).toBe('permanent');
    expect(e.message).not.toMatch(/DOE-TEST|JANE/); // no patient data in messages
  });

  test('an ED payload is decoded to a Buffer with its media type', () => {
    const pdf = Buffer.from('%PDF-1.4\n%%EOF\n');
    const r = reportFromMessage(build(MSH, PID, OBR, `OBX|1|ED|55108-5^Copie^LN||^AP^PDF^Base64^${pdf.toString('base64')}||||||F`));
    const v = results(r)[0].value;
    expect(v.type).toBe('ED');
    if (v.type === 'ED') {
      expect(v.mediaType).toBe('application/pdf');
      expect(v.data.equals(pdf)).toBe(true);
    }
  });

  test('ORU: OBX after SPM describe the specimen, however many', () => {
    const r = reportFromMessage(build(MSH, PID, OBR, OBX, 'SPM|1|S1||UR^Urine^HL70487', 'OBX|1|NM|3167-4^Volume^LN||1850|mL|||||F', 'NTE|1||note', 'OBX|2|ST|5767-9^Aspect^LN||Trouble||||||F'));
    expect(results(r).map((x) => x.code.loinc?.code)).toEqual(['2345-7']);
    const spec = r.requests[0].specimens[0];
    expect(spec.observations?.map((o) => o.code.loinc?.code)).toEqual(['3167-4', '5767-9']);
    expect(spec.observations?.[0].comments).toEqual([{ text: 'note' }]);
  });

  test('deleted / wrong-patient results (OBX-11 D, W) are dropped with their comments', () => {
    const r = reportFromMessage(build(MSH, PID, OBR, OBX, 'OBX|2|NM|2160-0^Créat^LN||9|mg/L|||||W', 'NTE|1||gone', 'OBX|3|NM|2823-3^K^LN||4|mmol/L|||||D'));
    expect(results(r).map((x) => x.code.loinc?.code)).toEqual(['2345-7']);
    expect(results(r)[0].comments).toEqual([]);
  });

  test('a received INS with a bad key is kept as received but not qualified', () => {
    const r = reportFromMessage(build(MSH, 'PID|1||279035121518988^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS||DOE-TEST^JANE^^^^^L||19800101|F' + '|'.repeat(24) + 'VALI', OBR, OBX));
    expect(r.patient.reliability).toBe('VALI');
    expect(r.patient.insReceived?.matricule).toBe('279035121518988');
    expect(r.patient.ins).toBeUndefined();
    expect(r.patient.insRefusedReason).toBe('INS matricule key is invalid');
  });

  test('truncating or mangling every sample never throws anything but a PasserelleError', () => {
    const files = readdirSync(SAMPLES).filter((f) => /^(oru-r01|oul-r22)_.*\.hl7$/.test(f));
    let tried = 0;
    for (const f of files) {
      const segs = decode(readFileSync(join(SAMPLES, f))).text.split('\r').filter((s) => s !== '');
      const variants: string[][] = [];
      for (let n = 1; n <= segs.length; n++) variants.push(segs.slice(0, n));
      for (let i = 1; i < segs.length; i++) variants.push([...segs.slice(0, i), ...segs.slice(i + 1)]);
      variants.push(segs.map((s) => s.replace(/\|/g, '^')).map((s, i) => (i === 0 ? segs[0] : s.slice(0, 3) + '|' + s.slice(4))));
      variants.push(segs.map((s, i) => (i === 0 ? s : s.replace(/\^/g, '&').replace(/~/g, '|'))));
      for (const v of variants) {
        tried++;
        try {
          reportFromMessage(Message.parse(v.join('\r')));
        } catch (e) {
          codeOf(e);
        }
      }
    }
    expect(tried).toBeGreaterThan(100);
  });
});

test('a qualified identity without its birthplace trait keeps the INS out of documents, with the reason', () => {
  const text = decode(readFileSync(join(SAMPLES, 'oru-r01_ilw_subcontracted.hl7'))).text.replace('^^^^^^BDL^^2A004', '');
  const r = reportFromMessage(Message.parse(text));
  expect(r.patient.reliability).toBe('VALI');
  expect(r.patient.insReceived?.matricule).toBe('248092A20345642');
  expect(r.patient.ins).toBeUndefined();
  expect(r.patient.insRefusedReason).toMatch(/INS traits missing \(birthplace/);
});
