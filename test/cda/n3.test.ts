import { buildN3 } from '../../engine/cda/n3';
import type { RenderOptions } from '../../engine/lab/profile';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { Doc, xsdErrors } from './helpers';
import { FAKE_PDF, FIXED_TIME, UNQUALIFIED_PATIENT, biochemistry, report } from './fixtures';

const OPTS: RenderOptions & { pdf: Buffer } = { version: '2024.01', profile: 'pro', effectiveTime: FIXED_TIME, pdf: FAKE_PDF };
const INS_ROOTS = ['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11'];

describe('buildN3 2024.01', () => {
  const rep = report();
  const { xml, metadata } = buildN3(rep, TEST_LAB_PROFILE, OPTS);
  const d = new Doc(xml);
  const text = d.str('//c:structuredBody'); // all narrative + entries text

  test('is valid against the CDA XSD', () => {
    expect(xsdErrors(xml)).toEqual([]);
  });

  test('header: templateIds, code, title, ids, version', () => {
    expect(d.strings('/c:ClinicalDocument/c:templateId/@root')).toEqual(['2.16.840.1.113883.2.8.2.1', '1.2.250.1.213.1.1.1.1', '1.3.6.1.4.1.19376.1.3.3', '1.2.250.1.213.1.1.1.55']);
    expect(d.str("/c:ClinicalDocument/c:templateId[@root='1.2.250.1.213.1.1.1.55']/@extension")).toBe('2024.01');
    expect(d.str('/c:ClinicalDocument/c:code/@code')).toBe('11502-2');
    expect(d.str('/c:ClinicalDocument/c:code/@displayName')).toBe("CR d'examens biologiques");
    expect(d.str('/c:ClinicalDocument/c:title')).toBe("Compte rendu d'examens biologiques");
    expect(d.str('/c:ClinicalDocument/c:languageCode/@code')).toBe('fr-FR');
    expect(d.str('/c:ClinicalDocument/c:id/@root')).toBe(metadata.documentId);
    expect(d.str('/c:ClinicalDocument/c:setId/@root')).toBe(metadata.setId);
    expect(d.str('/c:ClinicalDocument/c:versionNumber/@value')).toBe('1');
    expect(d.str('/c:ClinicalDocument/c:effectiveTime/@value')).toBe(FIXED_TIME);
    expect(d.count('//c:relatedDocument')).toBe(0);
  });

  test('qualified patient: INS + INS traits, local id, no duplicate INS', () => {
    const ids = d.strings('//c:patientRole/c:id/@root');
    expect(ids.filter((r) => INS_ROOTS.includes(r))).toEqual(['1.2.250.1.213.1.4.10']);
    expect(ids).toContain('1.2.250.1.213.1.1.9.98');
    expect(d.str("//c:patient/c:name/c:family[@qualifier='BR']")).toBe('PAT-TROIS');
    expect(d.str("//c:patient/c:name/c:given[@qualifier='BR']")).toBe('DOMINIQUE');
    expect(d.str('//c:patient/c:name/c:given[not(@qualifier)]')).toBe('DOMINIQUE MARIE-LOUISE');
    expect(d.str("//c:patient/c:name/c:family[@qualifier='CL']")).toBe('DUPONT');
    expect(d.str('//c:patient/c:birthplace/c:place/c:addr/c:county')).toBe('51215');
    expect(d.str('//c:patient/c:administrativeGenderCode/@code')).toBe('F');
    expect(metadata.insQualified).toBe(true);
    expect(metadata.dmpAllowed).toBe(true);
  });

  test('participants: legal authenticator, authenticator, prescriber MSSanté, copies, performer', () => {
    expect(d.str('//c:legalAuthenticator/c:signatureCode/@code')).toBe('S');
    expect(d.str("//c:authenticator/c:templateId/@root")).toBe('1.3.6.1.4.1.19376.1.3.3.1.5');
    expect(d.str("//c:participant[@typeCode='REF']/c:templateId/@root")).toBe('1.3.6.1.4.1.19376.1.3.3.1.6');
    expect(d.strings("//c:participant[@typeCode='REF']//c:telecom/@value")).toContain('mailto:pascal.charles@medecin.mssante.fr');
    expect(d.strings('//c:informationRecipient/c:intendedRecipient/c:telecom/@value')).toContain('mailto:sophie.martin@medecin.mssante.fr');
    expect(d.str("/c:ClinicalDocument/c:documentationOf[1]/c:serviceEvent/c:performer/c:templateId/@root")).toBe('1.3.6.1.4.1.19376.1.3.3.1.7');
    expect(d.str('/c:ClinicalDocument/c:documentationOf[1]/c:serviceEvent/lab:statusCode/@code')).toBe('active'); // a preliminary result
    expect(d.strings('/c:ClinicalDocument/c:documentationOf/c:serviceEvent/c:code/@code')).toEqual(['18719-5', '18723-7', '18727-8', '18725-2', '18718-7']);
    expect(d.str("//c:encompassingEncounter//c:representedOrganization/c:id[@root='1.2.250.1.213.6.3.1']/@extension")).toBe(TEST_LAB_PROFILE.cofrac!.number);
    expect(d.str('//c:inFulfillmentOf/c:order/c:id/@extension')).toBe('CMD-778899');
    expect(metadata.recipients).toEqual([
      { name: 'DR Pascal CHARLES', mssante: 'pascal.charles@medecin.mssante.fr', role: 'prescriber' },
      { name: 'DR Sophie MARTIN', mssante: 'sophie.martin@medecin.mssante.fr', role: 'copy' },
    ]);
  });

  test('body: chapters, one sub-chapter (text + 1 entry) per request, comment sections and PDF copy', () => {
    const top = d.strings('//c:structuredBody/c:component/c:section/c:templateId[1]/@root');
    expect(top).toEqual([
      '2.16.840.1.113883.10.12.201',
      ...Array(5).fill('1.3.6.1.4.1.19376.1.3.3.2.1'),
      '2.16.840.1.113883.10.12.201',
      '1.2.250.1.213.1.1.2.243',
    ]);
    expect(d.count("//c:section[c:templateId/@root='1.3.6.1.4.1.19376.1.3.3.2.2'][not(c:text) or count(c:entry) != 1]")).toBe(0);
    expect(d.count("//c:section[c:templateId/@root='1.3.6.1.4.1.19376.1.3.3.2.1'][c:text or c:entry]")).toBe(0);
    const b64 = d.str("//c:section[c:templateId/@root='1.2.250.1.213.1.1.2.243']//c:observationMedia/c:value").replace(/\s/g, '');
    expect(Buffer.from(b64, 'base64').equals(FAKE_PDF)).toBe(true);
  });

  test('values: PQ, SN as IVL_PQ, CD; interpretation codes; reference ranges', () => {
    const obs = (loinc: string) => `//c:observation[c:code/@code='${loinc}']`;
    expect(d.str(`${obs('2345-7')}/c:value/@value`)).toBe('1.32');
    expect(d.str(`${obs('2345-7')}/c:value/@unit`)).toBe('g/L');
    expect(d.str(`${obs('2345-7')}/c:interpretationCode/@code`)).toBe('H');
    expect(d.str(`${obs('2160-0')}/c:interpretationCode/@code`)).toBe('L');
    expect(d.str(`${obs('2345-7')}/c:referenceRange/c:observationRange/c:value/c:low/@value`)).toBe('0.70');
    // `<5` (local code: translation, no code attributes)
    const crp = "//c:observation[c:code/c:translation/@code='CRPL']";
    expect(d.count(`${crp}/c:code/@code`)).toBe(0);
    expect(d.str(`${crp}/c:value/@xsi:type`)).toBe('IVL_PQ');
    expect(d.str(`${crp}/c:value/c:high/@value`)).toBe('5');
    expect(d.str(`${crp}/c:value/c:high/@inclusive`)).toBe('false');
    expect(d.count(`${crp}/c:value/c:low`)).toBe(0);
    // `>1500`
    expect(d.str(`${obs('2157-6')}/c:value/c:low/@value`)).toBe('1500');
    expect(d.str(`${obs('2157-6')}/c:value/c:low/@inclusive`)).toBe('false');
    expect(d.str(`${obs('2157-6')}/c:interpretationCode/@code`)).toBe('HH');
    // CWE serology
    expect(d.str(`${obs('5196-1')}/c:value/@xsi:type`)).toBe('CD');
    expect(d.str(`${obs('5196-1')}/c:value/@code`)).toBe('260385009');
    expect(d.str(`${obs('5196-1')}/c:interpretationCode/@code`)).toBe('NEG');
    // every observation has a completed/aborted status (volet 2024.01)
    expect(d.count("//c:observation[c:templateId/@root='1.3.6.1.4.1.19376.1.3.1.6'][not(c:statusCode/@code='completed' or c:statusCode/@code='aborted')]")).toBe(0);
  });

  test('microbiology: isolate cluster with MIC specimen and antibiogram battery', () => {
    const iso = "//c:organizer[c:templateId/@root='1.3.6.1.4.1.19376.1.3.1.5']";
    expect(d.count(iso)).toBe(1);
    expect(d.str(`${iso}/@classCode`)).toBe('CLUSTER');
    expect(d.str(`${iso}/c:specimen[@typeCode='SPC']/c:specimenRole[@classCode='SPEC']/c:specimenPlayingEntity[@classCode='MIC']/c:code/@code`)).toBe('112283007');
    expect(d.count(`${iso}/c:component/c:observation[c:code/@code='51480-2']`)).toBe(1);
    const ab = `${iso}/c:component/c:organizer[c:code/@code='18769-0']`;
    expect(d.strings(`${ab}/c:component/c:observation/c:interpretationCode/@code`)).toEqual(['R', 'I', 'S']);
    expect(d.str(`${ab}/c:component/c:observation[c:code/@code='20-8']/c:value/c:low/@inclusive`)).toBe('true');
    // antibiogram lines are not repeated outside the isolate
    expect(d.count("//c:observation[c:code/@code='20-8']")).toBe(1);
    // specimen with reception act
    expect(d.str("//c:procedure[c:templateId/@root='1.3.6.1.4.1.19376.1.3.1.2']//c:playingEntity/c:code[@code='UR']/@codeSystem")).toBe('2.16.840.1.113883.18.311');
    expect(d.count("//c:act[c:code/@code='SPRECEIVE'][c:effectiveTime/@value]")).toBeGreaterThan(0);
  });

  test('subcontracted request: entry-level FR-Laboratoire-executant naming the performing lab', () => {
    const perf = "//c:act/c:performer[c:templateId/@root='1.2.250.1.213.1.1.3.23']";
    expect(d.count(perf)).toBe(1);
    expect(d.strings(`${perf}/c:templateId/@root`)).toEqual(['1.3.6.1.4.1.19376.1.3.3.1.7', '1.2.250.1.213.1.1.3.23']);
    expect(d.str(`${perf}/c:assignedEntity/c:representedOrganization/c:name`)).toBe('Laboratoire Sous-Traitant Spécialisé');
    expect(d.count(`${perf}/c:time`)).toBe(1);
    expect(text).toContain('réalisé par : Laboratoire Sous-Traitant Spécialisé');
  });

  test('narrative: every result name, value and unit, flags, non-final status; references resolve', () => {
    // Written out by hand from the fixtures (not computed by the engine): name (* = accredited),
    // value as sent, unit label, reference range, interpretation in French.
    const H = ['Examen', 'Résultat', 'Unité', 'Valeurs de référence', 'Interprétation'];
    const rows = d.strings('//c:text//c:tr').map((_, i) => d.strings(`(//c:text//c:tr)[${i + 1}]/*`).map((c) => c.replace(/\s+/g, ' ').trim()));
    expect(rows).toEqual([
      H,
      ['Glucose *', '1,32', 'g/L', '0,70 - 1,10', 'Anormalement haut'],
      ['Créatinine *', '4.1', 'mg/L', '5.0 - 10.4', 'Anormalement bas'],
      ['Résultat contrôlé < 5 & vérifié "deux fois" — àéèù'],
      ['Protéine C réactive', '<5', 'mg/L', '< 5', ''],
      ['CPK', '>1500', 'UI/L', '', 'Très anormalement haut, alerte'],
      H,
      ['Hémoglobine *', '13.5', 'g/dL', '12 - 16', 'Normal'],
      ['Leucocytes *', '11.2', 'G/L', '4 - 10', 'Anormalement haut'],
      ['Plaquettes (résultat provisoire)', '250', 'G/L', '', ''],
      H,
      ['Antigène HBs', 'Négatif', '', '', 'Négatif'],
      H,
      ['Leucocytes urinaires', '500', '/mL', '', ''],
      ['Aspect', 'trouble', '', '', ''],
      ['Isolat : Escherichia coli'],
      H,
      ['Numération bactérienne', '120000', '/mL', '', ''],
      ['Amoxicilline + acide clavulanique', '>=0.512', 'µg/mL', '', 'Résistant'],
      ['Ampicilline', '<0.128', 'µg/mL', '', 'Intermédiaire'],
      ['Gentamicine', '1', 'µg/mL', '', 'Sensible'],
      H,
      ['Vitamine B1', '120', 'nmol/L', '66 - 200', ''],
      ['Examen réalisé par : Laboratoire Sous-Traitant Spécialisé – 1 rue des Analyses 69000 LYON – Tél. 0472000000'],
      [''],
    ]);
    const ids = new Set(d.strings('//@ID'));
    expect(ids.size).toBe(d.count('//@ID'));
    for (const ref of d.strings('//c:reference/@value')) expect(ids.has(ref.slice(1))).toBe(true);
    for (const ref of d.strings('//c:renderMultiMedia/@referencedObject')) expect(ids.has(ref)).toBe(true);
  });

  test('comments: escaped, accents kept, linked by FR-Commentaire-ER; lab mentions', () => {
    const raw = 'Résultat contrôlé < 5 & vérifié "deux fois" — àéèù';
    expect(xml).toContain('Résultat contrôlé &lt; 5 &amp; vérifié "deux fois" — àéèù');
    expect(text).toContain(raw);
    const ref = d.str("//c:observation[c:code/@code='2160-0']/c:entryRelationship[@typeCode='SUBJ']/c:act/c:text/c:reference/@value");
    expect(d.str(`//*[@ID='${ref.slice(1)}']`)).toBe(raw);
    expect(d.strings("//c:act[c:templateId/@root='1.2.250.1.213.1.1.3.32']/c:code/@code")).toContain('48767-8');
    expect(text).toContain('Patient à jeun depuis 12 h.');
    expect(text).toContain('Note interne : relancer le préleveur.'); // PRO comment kept for professionals
    expect(text).toContain(`accréditation Cofrac n° ${TEST_LAB_PROFILE.cofrac!.number}`);
    expect(d.str("//c:content[.='Glucose']/..")).toBe('Glucose *');
    expect(text).toContain(TEST_LAB_PROFILE.rgpdText);
    expect(text).toContain(TEST_LAB_PROFILE.autoValidationText);
    expect(text).toContain('DR Sophie MARTIN (copie) – MSSanté : sophie.martin@medecin.mssante.fr');
  });
});

describe('buildN3 variants', () => {
  test('non-qualified identity: no INS root anywhere, traits and local ids kept', () => {
    const rep = report(UNQUALIFIED_PATIENT);
    const { xml, metadata } = buildN3(rep, TEST_LAB_PROFILE, OPTS);
    for (const root of INS_ROOTS) expect(xml).not.toContain(`"${root}"`);
    expect(xml).not.toContain('279035121518989');
    expect(xsdErrors(xml)).toEqual([]);
    const d = new Doc(xml);
    expect(d.strings('//c:patientRole/c:id/@root')).toEqual(['1.2.250.1.213.1.1.9.98']);
    expect(d.str("//c:patient/c:name/c:family[@qualifier='BR']")).toBe('PAT-TROIS');
    expect(metadata).toMatchObject({ insQualified: false, dmpAllowed: false, patientMssAllowed: false, insRefusedReason: UNQUALIFIED_PATIENT.insRefusedReason });
  });

  test('2021.01: extension 2021.01, no PDF copy section, only whitelisted level-1 sections', () => {
    const { xml, metadata } = buildN3(report(), TEST_LAB_PROFILE, { ...OPTS, version: '2021.01' });
    expect(xsdErrors(xml)).toEqual([]);
    const d = new Doc(xml);
    expect(d.str("/c:ClinicalDocument/c:templateId[@root='1.2.250.1.213.1.1.1.55']/@extension")).toBe('2021.01');
    expect(d.count("//c:section[c:templateId/@root='1.2.250.1.213.1.1.2.243']")).toBe(0);
    const allowed = ['1.3.6.1.4.1.19376.1.3.3.2.1', '1.2.250.1.213.1.1.2.60', '1.3.6.1.4.1.19376.1.4.1.2.16'];
    expect(d.count(`//c:structuredBody/c:component/c:section[not(${allowed.map((a) => `c:templateId/@root='${a}'`).join(' or ')})]`)).toBe(0);
    // 2021.01: result codes are LOINC or carry no code attribute at all
    expect(d.count("//c:observation[c:templateId/@root='1.3.6.1.4.1.19376.1.3.1.6']/c:code[@code and not(@codeSystem='2.16.840.1.113883.6.1')]")).toBe(0);
    expect(metadata.version).toBe('2021.01');
  });

  test('patient profile leaves professional-only comments out; visibility goes to metadata only', () => {
    const { xml, metadata } = buildN3(report(), TEST_LAB_PROFILE, {
      ...OPTS,
      profile: 'patient',
      visibility: { invisibleToPatient: false, maskedFromProfessionals: true },
    });
    expect(xml).not.toContain('Note interne');
    expect(xml).toContain('Prélèvement hémolysé');
    expect(new Doc(xml).str('/c:ClinicalDocument/c:confidentialityCode/@code')).toBe('N');
    expect(metadata.profile).toBe('patient');
    expect(metadata.confidentiality).toEqual({ maskedFromProfessionals: true, invisibleToPatient: false, invisibleToLegalRepresentatives: false });
  });

  test('replacement: relatedDocument RPLC, version number, same set id', () => {
    const first = buildN3(report(), TEST_LAB_PROFILE, OPTS).metadata;
    const second = buildN3({ ...report(), sourceControlId: 'MSG00043' }, TEST_LAB_PROFILE, { ...OPTS, versionNumber: 2, replaces: first.documentId });
    const d = new Doc(second.xml);
    expect(d.str("//c:relatedDocument[@typeCode='RPLC']/c:parentDocument/c:id/@root")).toBe(first.documentId);
    expect(second.metadata.setId).toBe(first.setId);
    expect(second.metadata.documentId).not.toBe(first.documentId);
    expect(d.str('/c:ClinicalDocument/c:versionNumber/@value')).toBe('2');
    expect(xsdErrors(second.xml)).toEqual([]);
  });

  test('pending-only request and document without validator stay valid', () => {
    const pending = biochemistry();
    pending.results = pending.results.map((r) => ({ ...r, status: 'pending' as const, value: { type: 'none' as const }, flags: [] }));
    const rep = { ...report(UNQUALIFIED_PATIENT, [pending]), validator: undefined, completeness: 'partial' as const };
    const { xml } = buildN3(rep, TEST_LAB_PROFILE, OPTS);
    expect(xsdErrors(xml)).toEqual([]);
    const d = new Doc(xml);
    expect(d.count("//c:observation[c:templateId/@root='1.3.6.1.4.1.19376.1.3.1.6']")).toBe(0);
    expect(d.str("//c:entry/c:act/c:statusCode/@code")).toBe('active');
    expect(d.count("//c:entry/c:act/c:entryRelationship[@typeCode='COMP']")).toBeGreaterThan(0);
    expect(d.str('//c:author/c:assignedAuthor/c:assignedAuthoringDevice/c:softwareName')).toBe(TEST_LAB_PROFILE.software.name);
    expect(d.str('//c:structuredBody')).toContain('en cours');
  });
});
