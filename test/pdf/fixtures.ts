/**
 * Hand-built reports for the PDF tests (no HL7 parsing involved): a qualified identity with
 * every kind of value, a non-qualified one, and a long report that spans several pages.
 */
import type { Patient, Report, Request, Result, ResultValue } from '../../engine/lab/report';
import { GS, INS_DATAMATRIX_HEADER } from '../../engine/pdf';

export const EFFECTIVE_TIME = '20240601101500+0200';

export function qualifiedPatient(): Patient {
  return {
    birthFamily: 'PAT-TROIS',
    firstBirthGiven: 'Dominique',
    birthGivens: 'Dominique Élise',
    usedFamily: 'MARTIN',
    birthDate: '19790328',
    sex: 'F',
    birthplaceCode: '63113',
    identifiers: [{ id: 'IPP-7781', type: 'PI', authorityOid: '1.2.250.1.213.1.1.9.98' }],
    reliability: 'VALI',
    insReceived: { matricule: '279035121518989', oid: '1.2.250.1.213.1.4.10', nature: 'NIR' },
    ins: { matricule: '279035121518989', oid: '1.2.250.1.213.1.4.10', nature: 'NIR' },
  };
}

/** What the Datamatrix of qualifiedPatient() must decode to (OID is 20 chars: no GS). */
export const QUALIFIED_PAYLOAD =
  INS_DATAMATRIX_HEADER + 'S1279035121518989S21.2.250.1.213.1.4.10S3DOMINIQUE ELISE' + GS + 'S4PAT-TROIS' + GS + 'S5FS628-03-1979S763113';

export function nonQualifiedPatient(): Patient {
  return {
    birthFamily: 'NONQUALIFIÉ',
    firstBirthGiven: 'Ève',
    birthGivens: 'Ève',
    birthDate: '19850704',
    sex: 'F',
    identifiers: [{ id: 'IPP-9902', type: 'PI' }],
    reliability: 'PROV',
    // Received but not qualified: must appear nowhere in the PDF.
    insReceived: { matricule: '285077512345699', oid: '1.2.250.1.213.1.4.8', nature: 'NIR' },
    insRefusedReason: 'identity status PROV is not VALI',
  };
}

let n = 0;
function result(text: string, value: ResultValue, extra: Partial<Result> = {}): Result {
  n += 1;
  return { id: `r${n}`, code: { text, loinc: extra.code?.loinc }, value, flags: [], status: 'final', comments: [], ...extra };
}
const nm = (value: string): ResultValue => ({ type: 'NM', value });

function request(id: string, text: string, chapter: [string, string], results: Result[], extra: Partial<Request> = {}): Request {
  return {
    id,
    code: { text },
    chapter: { code: chapter[0], display: chapter[1], system: '2.16.840.1.113883.6.1' },
    specimens: [],
    results,
    comments: [],
    status: 'final',
    ...extra,
  };
}

const CHEM: [string, string] = ['18719-5', 'Biochimie'];
const HEMA: [string, string] = ['18723-7', 'Hématologie'];
const MICRO: [string, string] = ['18725-2', 'Microbiologie'];

export function fullReport(patient: Patient = qualifiedPatient()): Report {
  n = 0;
  const glucose = result('Glucose', nm('5.2'), { unit: 'mmol/L', range: { text: '3.9-5.8' }, code: { text: 'Glucose', loinc: { code: '2345-7' } } });
  const creat = result('Créatinine', nm('112'), { unit: 'umol/L', unitText: 'µmol/L', range: { text: '45-90' }, flags: ['H'] });
  const potassium = result('Potassium', nm('3.1'), { unit: 'mmol/L', range: { text: '3.5-5.0' }, flags: ['L'], comments: [{ text: 'Prélèvement hémolysé, à contrôler.' }] });
  const crp = result('Protéine C réactive', { type: 'SN', comparator: '<', num1: '5', text: '<5' }, { unit: 'mg/L', range: { text: '<5' } });
  const ferritin = result('Ferritine', { type: 'SN', comparator: '>', num1: '1500', text: '>1500' }, { unit: 'ug/L', unitText: 'µg/L', range: { text: '15-150' }, flags: ['HH'] });
  const hiv = result('Sérologie VIH', { type: 'CWE', coded: { code: 'NEG', display: 'Négatif' } });
  const hb = result('Hémoglobine', nm('13.4'), { unit: 'g/dL', range: { text: '12.0-16.0' }, code: { text: 'Hémoglobine', loinc: { code: '718-7' } } });
  const smear = result('Frottis sanguin', { type: 'TX', text: 'Anisocytose modérée.\nPas de blastes circulants.' });
  const vitd = result('Vitamine D (25-OH)', { type: 'none' }, { status: 'pending' });
  const tsh = result('TSH', nm('2.10'), { unit: 'mUI/L', range: { text: '0.27-4.20' }, status: 'corrected', autoValidated: true });
  const lab2 = { organization: { name: 'Laboratoire Cerba Spécialisé', address: { street: ['7/11 rue de l’Équerre'], postalCode: '95310', city: 'SAINT-OUEN-L’AUMÔNE' } } };
  const genetic = result('Génotypage HLA-B27', { type: 'CWE', coded: { code: 'POS', display: 'Positif' } }, { performer: lab2 });

  const organism = result('Germe identifié', { type: 'CWE', coded: { code: '112283007', display: 'Escherichia coli' } }, { subId: '1' });
  const amox = result('Amoxicilline', { type: 'CWE', coded: { code: 'R', display: 'Résistant' } }, { subId: '1.1', flags: ['R'] });
  const ctx = result('Ceftriaxone', nm('0.25'), { subId: '1.2', unit: 'mg/L', flags: ['S'] });
  const cip = result('Ciprofloxacine', nm('0.5'), { subId: '1.3', unit: 'mg/L', flags: ['I'] });
  const count = result('Numération bactérienne', nm('100000'), { unit: '/mL', unitText: 'UFC/mL' });

  return {
    sourceControlId: 'MSG-0001',
    messageType: 'ORU^R01',
    patient,
    dossier: '240601-0042',
    orderId: 'CMD-778899',
    prescriber: { id: '10003456789', family: 'MEDECIN', given: 'Paul', prefix: 'DR', mssante: 'paul.medecin@medecin.mssante.fr' },
    prescriberOrganization: { name: 'Cabinet médical des Lilas', address: { street: ['3 rue des Lilas'], postalCode: '75019', city: 'PARIS' } },
    requests: [
      request('o1', 'Bilan biochimique', CHEM, [glucose, creat, potassium, crp, ferritin, vitd, tsh], {
        specimens: [{ id: 'S1', type: { code: 'SER', display: 'Sérum' }, collectedAt: '202406010745', receivedAt: '202406010830',
          observations: [result('Aspect du sérum', { type: 'ST', text: 'Ictérique' })] }],
        comments: [{ text: 'Bilan à jeun.' }],
        status: 'pending',
      }),
      request('o2', 'Sérologie', MICRO, [hiv], { specimens: [{ type: { code: 'SER', display: 'Sérum' }, collectedAt: '202406010745' }] }),
      request('o3', 'Numération formule sanguine', HEMA, [hb, smear]),
      request('o4', 'Typage HLA', HEMA, [genetic], { performer: lab2 }),
      request('o5', 'Examen cytobactériologique des urines', MICRO, [count, organism, amox, ctx, cip], {
        specimens: [{ type: { code: 'UR', display: 'Urine' }, collectedAt: '202406010750', receivedAt: '202406010830' }],
        isolates: [{ subId: '1', organism: { code: '112283007', display: 'Escherichia coli' }, susceptibilities: [amox, ctx, cip] }],
      }),
    ],
    comments: [{ text: 'Patiente sous anticoagulants.' }],
    completeness: 'partial',
    receivedAt: '202406010830',
    validatedAt: '202406011012',
    validator: { id: '801234534765', family: 'CAMPARINI', given: 'Marcel', prefix: 'DR' },
    autoValidated: true,
    copiesTo: [
      { family: 'CARDIO', given: 'Anne', prefix: 'DR', mssante: 'anne.cardio@hopital.mssante.fr' },
      { family: 'NEPHRO', given: 'Luc', prefix: 'DR' },
    ],
  };
}

/** A complete report long enough for several pages. */
export function longReport(requests: number): Report {
  const base = fullReport();
  const reqs: Request[] = [];
  for (let i = 1; i <= requests; i++) {
    const results = [1, 2, 3, 4].map((j) =>
      result(`Analyse ${i}.${j}`, nm(`${i}.${j}`), { unit: 'mmol/L', range: { text: '1.0-9.9' }, flags: j === 4 ? ['H'] : [] }),
    );
    reqs.push(request(`L${i}`, `Examen numéro ${i}`, i % 2 ? CHEM : HEMA, results));
  }
  return { ...base, requests: reqs, completeness: 'complete', autoValidated: false };
}

/** Every value and unit the PDF text of fullReport() must contain. */
export function expectedTexts(report: Report): string[] {
  const out: string[] = [];
  for (const req of report.requests) {
    out.push(req.code.text);
    // Antibiogram lines print their S/I/R as words (checked by the antibiogram test).
    const atb = new Set((req.isolates ?? []).flatMap((i) => i.susceptibilities.map((s) => s.id)));
    for (const r of req.results) {
      out.push(r.code.text);
      if (atb.has(r.id)) continue;
      const v = r.value;
      if (v.type === 'NM') out.push(v.value);
      if (v.type === 'SN') out.push(v.text);
      if (v.type === 'CWE') out.push(v.coded.display ?? v.coded.code);
      if (v.type === 'TX') out.push(...v.text.split('\n'));
      if (r.unitText ?? r.unit) out.push((r.unitText ?? r.unit) as string);
      if (r.range) out.push(r.range.text);
      for (const c of r.comments) out.push(c.text);
    }
    for (const c of req.comments) out.push(c.text);
  }
  for (const c of report.comments) out.push(c.text);
  return out;
}
