/**
 * Seeded generator of French lab ORU^R01 messages the document tests have never seen:
 * accented and hyphenated names, HL7 escapes in comments, NM/SN/CWE/ST values with French
 * or UCUM units, subcontracted results (OBX-23..25), qualified or not identities. Test
 * identities only: INS under the test OID 1.2.250.1.213.1.4.10 with a computed key.
 */
import { prng } from './random';

interface TestDef {
  loinc: string;
  text: string;
  unit: string;
  range: string;
  low: number;
  high: number;
  decimals: number;
}

const NM_TESTS: TestDef[] = [
  { loinc: '2345-7', text: 'Glucose [Masse/Volume] Sérum/Plasma', unit: 'g/L', range: '0.70-1.10', low: 0.5, high: 2.5, decimals: 2 },
  { loinc: '14749-6', text: 'Glucose [Moles/Volume] Sérum/Plasma', unit: 'mmol/l', range: '3.9-6.1', low: 3, high: 12, decimals: 1 },
  { loinc: '2160-0', text: 'Créatinine [Masse/Volume] Sérum/Plasma', unit: 'mg/L', range: '6-12', low: 4, high: 30, decimals: 1 },
  { loinc: '2951-2', text: 'Sodium [Moles/Volume] Sérum/Plasma', unit: 'mmol/L', range: '136-145', low: 125, high: 150, decimals: 0 },
  { loinc: '2823-3', text: 'Potassium [Moles/Volume] Sérum/Plasma', unit: 'mmol/L', range: '3.5-5.1', low: 2.8, high: 6.5, decimals: 1 },
  { loinc: '718-7', text: 'Hémoglobine [Masse/Volume] Sang', unit: 'g/dL', range: '12.0-16.0', low: 8, high: 18, decimals: 1 },
  { loinc: '6690-2', text: 'Leucocytes [Nombre/Volume] Sang', unit: 'G/L', range: '4.0-10.0', low: 2, high: 20, decimals: 1 },
  { loinc: '777-3', text: 'Plaquettes [Nombre/Volume] Sang', unit: 'G/L', range: '150-400', low: 80, high: 600, decimals: 0 },
  { loinc: '3016-3', text: 'Thyréostimuline [Unités/Volume] Sérum/Plasma', unit: 'mUI/L', range: '0.27-4.20', low: 0.05, high: 12, decimals: 2 },
  { loinc: '2093-3', text: 'Cholestérol [Masse/Volume] Sérum/Plasma', unit: 'g/l', range: '<2.00', low: 1.2, high: 3.2, decimals: 2 },
];

const FAMILIES = ['LEFÈVRE-MARTIN', "D'ARTAGNAN", 'MÜLLER', 'GARÇON', 'NOËL', 'DUPONT', 'ÉVRARD', 'LE GOFF'];
const GIVENS = [['ÉLODIE', 'MARIE'], ['FRANÇOIS', 'XAVIER'], ['JOSÉ'], ['ANNE-SOPHIE'], ['CHLOÉ', 'HÉLÈNE'], ['NOËL']];
const COMMENTS = [
  'Prélèvement hémolysé \\T\\ résultat à confirmer',
  'Contrôle demandé par le Dr \\S\\ voir \\F\\ dossier \\E\\ fin',
  'Résultat < seuil & conforme "à vérifier"',
  'Ligne 1\\.br\\Ligne 2 — à jeun',
];

/** NIR key: 97 − (N mod 97), Corsica 2A → 19, 2B → 18 before the modulo. */
function key(nir13: string): string {
  const n = BigInt(nir13.replace('2A', '19').replace('2B', '18'));
  return String(97n - (n % 97n)).padStart(2, '0');
}

export interface GeneratedOru {
  text: string;
  qualified: boolean;
  ins: string;
  /** Every value an N3 narrative must show (OBX-5 as a reader sees it). */
  values: string[];
  subcontracted: boolean;
}

/** A PID segment from field number → value (so field positions are never miscounted). */
function pid(fields: Record<number, string>): string {
  const max = Math.max(...Object.keys(fields).map(Number));
  return ['PID', ...Array.from({ length: max }, (_, i) => fields[i + 1] ?? '')].join('|');
}

export function generateOru(seed: number): GeneratedOru {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const sex = rnd() < 0.5 ? 'F' : 'M';
  const yy = String(30 + Math.floor(rnd() * 70)).padStart(2, '0');
  const mm = String(1 + Math.floor(rnd() * 12)).padStart(2, '0');
  const dept = pick(['75', '69', '2A', '2B', '13', '33']);
  const nir13 = `${sex === 'F' ? 2 : 1}${yy}${mm}${dept}${String(1 + Math.floor(rnd() * 899)).padStart(3, '0')}${String(1 + Math.floor(rnd() * 899)).padStart(3, '0')}`;
  const ins = nir13 + key(nir13);
  const qualified = rnd() < 0.75;
  const family = pick(FAMILIES);
  const givens = pick(GIVENS);
  const birth = `19${yy}${mm}${String(1 + Math.floor(rnd() * 27)).padStart(2, '0')}`;
  const cog = dept === '2A' ? '2A004' : dept === '2B' ? '2B033' : `${dept}1${String(Math.floor(rnd() * 99)).padStart(2, '0')}`;
  const id = `GEN-${seed}`;
  const segs: string[] = [
    `MSH|^~\\&|SIL-LABO|LABO-DEMO|SIH|HOPITAL|20261125101500||ORU^R01^ORU_R01|${id}|P|2.5|||||FRA|UNICODE UTF-8`,
    pid({
      1: '1',
      3: `IPP${seed}^^^LABO-DEMO&1.2.250.1.213.1.1.9.98&ISO^PI~${ins}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS`,
      5: `${family}^${givens[0]}^${givens.join(' ')}^^^^L`,
      7: birth,
      8: sex,
      11: `1 rue de la Paix^^Paris^^75002^FRA~^^^^^^BDL^^${cog}`,
      18: `DOS${seed}^^^LABO-DEMO^AN`,
      32: qualified ? 'VALI' : 'PROV',
    }),
    `PV1|1|O`,
    `ORC|RE|CMD${seed}^SIH|DOS${seed}^SIL-LABO||CM|||||||810001234567^PRESCRIPTEUR^Hélène^^^DR^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^RPPS`,
    `OBR|1|CMD${seed}^SIH|DOS${seed}^SIL-LABO|BIO^Bilan biologique^L|||20261125073000|||||||20261125080000||810001234567^PRESCRIPTEUR^Hélène^^^DR^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^RPPS||||||20261125100000|||F|||||||801234534765&CAMPARINI&Marcel`,
  ];
  const values: string[] = [];
  let n = 0;
  const obx = (fields: string): void => void segs.push(`OBX|${++n}|${fields}`);
  const chosen = [...NM_TESTS].sort(() => rnd() - 0.5).slice(0, 3 + Math.floor(rnd() * 5));
  for (const t of chosen) {
    const v = (t.low + rnd() * (t.high - t.low)).toFixed(t.decimals);
    const [lo, hi] = t.range.startsWith('<') ? [undefined, Number(t.range.slice(1))] : t.range.split('-').map(Number);
    const flag = hi !== undefined && Number(v) > hi ? 'H' : lo !== undefined && Number(v) < lo ? 'L' : 'N';
    obx(`NM|${t.loinc}^${t.text}^LN||${v}|${t.unit}|${t.range}|${flag}|||F|||20261125073000||801234534765^CAMPARINI^Marcel|||20261125100000`);
    values.push(v);
  }
  if (rnd() < 0.7) {
    obx(`SN|1988-5^Protéine C réactive [Masse/Volume] Sérum/Plasma^LN||<^5|mg/L|<5|N|||F|||20261125073000||801234534765^CAMPARINI^Marcel|||20261125100000`);
    values.push('5');
  }
  if (rnd() < 0.5) {
    obx(`SN|2132-9^Vitamine B12 [Masse/Volume] Sérum/Plasma^LN||>^1500|pg/mL|180-914|H|||F|||20261125073000||801234534765^CAMPARINI^Marcel|||20261125100000`);
    values.push('1500');
  }
  if (rnd() < 0.6) {
    const pos = rnd() < 0.3;
    obx(`CWE|5196-1^Antigène HBs [Présence] Sérum^LN||${pos ? '10828004^Positif^SCT' : '260385009^Négatif^SCT'}||Négatif|${pos ? 'A' : 'N'}|||F|||20261125073000||801234534765^CAMPARINI^Marcel|||20261125100000`);
    values.push(pos ? 'Positif' : 'Négatif');
  }
  if (rnd() < 0.6) {
    segs.push(`NTE|1|L|${pick(COMMENTS)}`);
  }
  const subcontracted = rnd() < 0.5;
  if (subcontracted) {
    obx(
      `NM|1989-3^25-Hydroxyvitamine D3 [Masse/Volume] Sérum/Plasma^LN||31.5|ng/mL|30-100|N|||F|||20261125073000|||||20261125095000||||Laboratoire Spécialisé Exemple^L^^^^FINESS&1.2.250.1.71.4.2.2&ISO^FINEG^^^750000009|10 rue de l'Essai^^Paris^^75013^FRA|10007654321^BIOLOGISTE^Exemple^^^^^^RPPS&1.2.250.1.71.4.2.1&ISO^L^^^RPPS`,
    );
    values.push('31.5');
  }
  return { text: segs.join('\r') + '\r', qualified, ins, values, subcontracted };
}
