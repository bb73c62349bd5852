/**
 * Hand-built reports for the CDA tests (independent of the HL7 parser).
 */
import type { Patient, Professional, Report, Request, Result } from '../../engine/lab/report';

export const FAKE_PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');
export const FIXED_TIME = '20240105101500+0100';

const LN = '2.16.840.1.113883.6.1';

export const QUALIFIED_PATIENT: Patient = {
  birthFamily: 'PAT-TROIS',
  firstBirthGiven: 'DOMINIQUE',
  birthGivens: 'DOMINIQUE MARIE-LOUISE',
  usedFamily: 'DUPONT',
  usedGiven: 'Dominique',
  birthDate: '19790328',
  sex: 'F',
  birthplaceCode: '51215',
  address: { street: ['28 avenue de Breteuil'], postalCode: '75007', city: 'PARIS', country: 'FRANCE' },
  telecom: ['tel:0144534551'],
  identifiers: [
    { id: '1234567890121', authorityOid: '1.2.250.1.213.1.1.9.98', type: 'PI' },
    // The INS also arrives as a PID-3 repetition: must only appear through patient.ins.
    { id: '279035121518989', authorityOid: '1.2.250.1.213.1.4.10', type: 'INS' },
  ],
  insReceived: { matricule: '279035121518989', oid: '1.2.250.1.213.1.4.10', nature: 'NIR' },
  reliability: 'VALI',
  ins: { matricule: '279035121518989', oid: '1.2.250.1.213.1.4.10', nature: 'NIR' },
};

export const UNQUALIFIED_PATIENT: Patient = {
  ...QUALIFIED_PATIENT,
  reliability: 'PROV',
  ins: undefined,
  insRefusedReason: 'identité non qualifiée (PID-32 = PROV)',
  birthplaceCode: undefined,
};

export const VALIDATOR: Professional = {
  id: '801234567898', idAuthorityOid: '1.2.250.1.71.4.2.1', family: 'DE SANTS', given: 'Jean', prefix: 'DR', telecom: ['tel:0174589607'],
};

export const PRESCRIBER: Professional = {
  id: '810002422979', idAuthorityOid: '1.2.250.1.71.4.2.1', family: 'CHARLES', given: 'Pascal', prefix: 'DR',
  mssante: 'pascal.charles@medecin.mssante.fr', telecom: ['tel:0145000000'],
  address: { street: ['5 rue du Chêne'], postalCode: '92100', city: 'BOULOGNE-BILLANCOURT' },
};

export const COPY_TO: Professional = { id: '810000000001', family: 'MARTIN', given: 'Sophie', prefix: 'DR', mssante: 'sophie.martin@medecin.mssante.fr' };

let n = 0;
function result(partial: Partial<Result> & Pick<Result, 'code' | 'value'>): Result {
  n += 1;
  return { id: `r${n}`, flags: [], status: 'final', comments: [], observedAt: '20240104101000+0100', ...partial };
}

const BIOCHIMIE = { code: '18719-5', display: 'Biochimie', system: LN };
const HEMATO = { code: '18723-7', display: 'Hématologie', system: LN };
const SEROLOGIE = { code: '18727-8', display: 'Sérologie', system: LN };
const MICRO = { code: '18725-2', display: 'Microbiologie', system: LN };

function request(id: string, partial: Partial<Request> & Pick<Request, 'code' | 'chapter' | 'results'>): Request {
  return {
    id,
    specimens: [],
    comments: [],
    status: 'final',
    collectedAt: '202401040735+0100',
    reportedAt: '202401041120+0100',
    validator: VALIDATOR,
    ...partial,
  };
}

export function biochemistry(): Request {
  return request('o1', {
    code: { loinc: { code: '24323-8', display: 'Bilan métabolique', system: LN }, local: { code: 'BIOC', display: 'Bilan biochimique', systemName: 'L' }, text: 'Bilan biochimique' },
    chapter: BIOCHIMIE,
    specimens: [{ id: 'S123', type: { code: 'SER', display: 'Sérum' }, collectedAt: '202401040735+0100', receivedAt: '202401040900+0100' }],
    results: [
      result({ code: { loinc: { code: '2345-7', display: 'Glucose [Masse/Volume] Sérum/Plasma ; Numérique', system: LN }, text: 'Glucose' }, value: { type: 'NM', value: '1,32' }, unit: 'g/L', unitText: 'g/L', range: { text: '0,70 - 1,10', low: '0.70', high: '1.10' }, flags: ['H'] }),
      result({ code: { loinc: { code: '2160-0', display: 'Créatinine [Masse/Volume] Sérum/Plasma ; Numérique', system: LN }, text: 'Créatinine' }, value: { type: 'NM', value: '4.1' }, unit: 'mg/L', unitText: 'mg/L', range: { text: '5.0 - 10.4', low: '5.0', high: '10.4' }, flags: ['L'], comments: [{ text: 'Résultat contrôlé < 5 & vérifié "deux fois" — àéèù' }] }),
      result({ code: { local: { code: 'CRPL', display: 'CRP (code local)', systemName: 'L' }, text: 'Protéine C réactive' }, value: { type: 'SN', comparator: '<', num1: '5', text: '<5' }, unit: 'mg/L', unitText: 'mg/L', range: { text: '< 5', high: '5' } }),
      result({ code: { loinc: { code: '2157-6', display: 'Créatine kinase [Activité enzymatique/Volume] Sérum/Plasma ; Numérique', system: LN }, text: 'CPK' }, value: { type: 'SN', comparator: '>', num1: '1500', text: '>1500' }, unit: 'U/L', unitText: 'UI/L', flags: ['HH'] }),
    ],
    comments: [{ text: 'Prélèvement hémolysé : interpréter la kaliémie avec prudence.' }, { text: 'Note interne : relancer le préleveur.', type: 'PRO' }],
  });
}

export function haematology(): Request {
  return request('o2', {
    code: { loinc: { code: '58410-2', display: 'Hémogramme', system: LN }, text: 'Numération formule sanguine' },
    chapter: HEMATO,
    specimens: [{ id: 'S124', type: { code: 'BLD', display: 'Sang total' }, collectedAt: '202401040735+0100' }],
    results: [
      result({ code: { loinc: { code: '718-7', display: 'Hémoglobine [Masse/Volume] Sang ; Numérique', system: LN }, text: 'Hémoglobine' }, value: { type: 'NM', value: '13.5' }, unit: 'g/dL', unitText: 'g/dL', range: { text: '12 - 16', low: '12', high: '16' }, flags: ['N'] }),
      result({ code: { loinc: { code: '6690-2', display: 'Leucocytes [Nombre/Volume] Sang ; Numérique', system: LN }, text: 'Leucocytes' }, value: { type: 'NM', value: '11.2' }, unit: '10*9/L', unitText: 'G/L', range: { text: '4 - 10', low: '4', high: '10' }, flags: ['H'] }),
      result({ code: { loinc: { code: '26515-7', display: 'Plaquettes [Nombre/Volume] Sang ; Numérique', system: LN }, text: 'Plaquettes' }, value: { type: 'NM', value: '250' }, unit: '10*9/L', unitText: 'G/L', status: 'preliminary' }),
    ],
  });
}

export function serology(): Request {
  return request('o3', {
    code: { loinc: { code: '5196-1', display: 'Antigène HBs', system: LN }, text: 'Hépatite B : antigène HBs' },
    chapter: SEROLOGIE,
    results: [
      result({ code: { loinc: { code: '5196-1', display: 'Virus de l’hépatite B antigène de surface [Présence] Sérum ; Résultat nominal', system: LN }, text: 'Antigène HBs' }, value: { type: 'CWE', coded: { code: '260385009', display: 'Négatif', system: '2.16.840.1.113883.6.96' } }, flags: ['NEG'] }),
    ],
  });
}

export function microbiology(): Request {
  const sus = (code: string, name: string, v: string, cmp: string | undefined, flag: string): Result =>
    result({ subId: '1.1', code: { loinc: { code, display: `${name} [Sensibilité] Isolat ; CMI`, system: LN }, text: name }, value: { type: 'SN', comparator: cmp, num1: v, text: `${cmp ?? ''}${v}` }, unit: 'ug/mL', unitText: 'µg/mL', flags: [flag] });
  const susceptibilities = [sus('20-8', 'Amoxicilline + acide clavulanique', '0.512', '>=', 'R'), sus('28-1', 'Ampicilline', '0.128', '<', 'I'), sus('35668-3', 'Gentamicine', '1', undefined, 'S')];
  const count = result({ subId: '1', code: { loinc: { code: '51480-2', display: 'Bactérie [Nombre/Volume] Urine ; Numérique', system: LN }, text: 'Numération bactérienne' }, value: { type: 'NM', value: '120000' }, unit: '/mL', unitText: '/mL' });
  const leuco = result({ code: { loinc: { code: '30405-5', display: 'Leucocytes [Nombre/Volume] Urine ; Numérique', system: LN }, text: 'Leucocytes urinaires' }, value: { type: 'NM', value: '500' }, unit: '/mL', unitText: '/mL' });
  const aspect = result({ code: { loinc: { code: '5767-9', display: 'Aspect [Aspect] Urine ; Résultat nominal', system: LN }, text: 'Aspect' }, value: { type: 'ST', text: 'trouble' } });
  return request('o4', {
    code: { loinc: { code: '630-4', display: 'Bactérie identifiée Urine ; Culture', system: LN }, text: 'ECBU' },
    chapter: MICRO,
    specimens: [{ id: 'U77', type: { code: 'UR', display: 'Urine' }, collectedAt: '202401040735+0100', receivedAt: '202401040752+0100' }],
    results: [leuco, aspect, count, ...susceptibilities],
    isolates: [{ subId: '1', organism: { code: '112283007', display: 'Escherichia coli', system: '2.16.840.1.113883.6.96' }, susceptibilities }],
  });
}

export function subcontracted(): Request {
  const org = { name: 'Laboratoire Sous-Traitant Spécialisé', id: '1120456733', idRoot: '1.2.250.1.71.4.2.2', address: { street: ['1 rue des Analyses'], postalCode: '69000', city: 'LYON' }, telecom: ['tel:0472000000'] };
  const performer = { organization: org, director: { id: '801234567833', family: 'LEROY', given: 'Anne', prefix: 'DR' }, performedAt: '202401041050+0100' };
  return request('o5', {
    code: { loinc: { code: '1986-9', display: 'Vitamine B1', system: LN }, text: 'Vitamine B1 (sous-traitée)' },
    chapter: { code: '18718-7', display: 'Protéines, marqueurs tumoraux, vitamines', system: LN },
    performer,
    results: [
      result({ code: { loinc: { code: '1986-9', display: 'Thiamine [Moles/Volume] Sang ; Numérique', system: LN }, text: 'Vitamine B1' }, value: { type: 'NM', value: '120' }, unit: 'nmol/L', unitText: 'nmol/L', range: { text: '66 - 200', low: '66', high: '200' }, performer }),
    ],
  });
}

export function report(patient: Patient = QUALIFIED_PATIENT, requests: Request[] = [biochemistry(), haematology(), serology(), microbiology(), subcontracted()]): Report {
  return {
    sourceControlId: 'MSG00042',
    messageType: 'ORU^R01',
    patient,
    dossier: 'D2024-0001',
    orderId: 'CMD-778899',
    prescriber: PRESCRIBER,
    prescriberOrganization: { name: 'Cabinet du Dr Charles', id: '1120459384', idRoot: '1.2.250.1.71.4.2.2' },
    requests,
    comments: [{ text: 'Patient à jeun depuis 12 h.' }],
    completeness: requests.some((r) => r.results.some((x) => x.status === 'preliminary' || x.status === 'pending')) ? 'partial' : 'complete',
    receivedAt: '202401040900+0100',
    validatedAt: '202401041130+0100',
    validator: VALIDATOR,
    autoValidated: true,
    copiesTo: [COPY_TO],
  };
}
