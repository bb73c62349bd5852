import { buildN1 } from '../../engine/cda/n1';
import { buildN3 } from '../../engine/cda/n3';
import { hashArc, isValidOid, n1Ids, n3Ids } from '../../engine/cda/ids';
import type { RenderOptions } from '../../engine/lab/profile';
import { TEST_LAB_PROFILE } from '../support/lab-profile';
import { Doc, xsdErrors } from './helpers';
import { FAKE_PDF, FIXED_TIME, UNQUALIFIED_PATIENT, report } from './fixtures';

const OPTS: RenderOptions & { pdf: Buffer } = { version: '2024.01', profile: 'pro', effectiveTime: FIXED_TIME, pdf: FAKE_PDF };

describe('buildN1', () => {
  const rep = report();
  const { xml } = buildN1(rep, TEST_LAB_PROFILE, OPTS);
  const d = new Doc(xml);

  test('XSD-valid, exactly the three N1 templateIds, PDF in nonXMLBody', () => {
    expect(xsdErrors(xml)).toEqual([]);
    expect(d.strings('/c:ClinicalDocument/c:templateId/@root')).toEqual(['2.16.840.1.113883.2.8.2.1', '1.2.250.1.213.1.1.1.1', '1.3.6.1.4.1.19376.1.2.20']);
    expect(d.count('//c:structuredBody')).toBe(0);
    expect(d.str('//c:nonXMLBody/c:text/@mediaType')).toBe('application/pdf');
    expect(d.str('//c:nonXMLBody/c:text/@representation')).toBe('B64');
    expect(Buffer.from(d.str('//c:nonXMLBody/c:text'), 'base64').equals(FAKE_PDF)).toBe(true);
  });

  test('same header as the N3 but its own id and set id', () => {
    const n3 = new Doc(buildN3(rep, TEST_LAB_PROFILE, OPTS).xml);
    expect(d.str('/c:ClinicalDocument/c:code/@code')).toBe('11502-2');
    expect(d.str('/c:ClinicalDocument/c:title')).toBe(n3.str('/c:ClinicalDocument/c:title'));
    expect(d.str('//c:recordTarget')).toBe(n3.str('//c:recordTarget'));
    expect(d.str('//c:legalAuthenticator/c:signatureCode/@code')).toBe('S');
    expect(d.str("//c:participant[@typeCode='REF']/c:templateId/@root")).toBe('1.3.6.1.4.1.19376.1.3.3.1.6');
    expect(d.str('/c:ClinicalDocument/c:id/@root')).not.toBe(n3.str('/c:ClinicalDocument/c:id/@root'));
    expect(d.str('/c:ClinicalDocument/c:setId/@root')).not.toBe(n3.str('/c:ClinicalDocument/c:setId/@root'));
  });

  test('non-qualified identity: no INS anywhere in the N1', () => {
    const x = buildN1(report(UNQUALIFIED_PATIENT), TEST_LAB_PROFILE, OPTS).xml;
    for (const root of ['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11']) expect(x).not.toContain(`"${root}"`);
    expect(x).not.toContain('279035121518989');
  });

  test('replacement: the N1 replaces the N1 of the replaced N3', () => {
    const firstN1 = n1Ids(rep, TEST_LAB_PROFILE, OPTS).documentId;
    const firstN3 = n3Ids(rep, TEST_LAB_PROFILE, OPTS).documentId;
    const next = { ...rep, sourceControlId: 'MSG00043' };
    const x = new Doc(buildN1(next, TEST_LAB_PROFILE, { ...OPTS, versionNumber: 2, replaces: firstN3 }).xml);
    expect(x.str("//c:relatedDocument[@typeCode='RPLC']/c:parentDocument/c:id/@root")).toBe(firstN1);
  });
});

describe('ids', () => {
  const rep = report();
  test('deterministic, valid OIDs under the lab root', () => {
    const a = n3Ids(rep, TEST_LAB_PROFILE, OPTS);
    const b = n3Ids(report(), TEST_LAB_PROFILE, OPTS);
    expect(a).toEqual(b);
    for (const id of [a.documentId, a.setId, ...Object.values(n1Ids(rep, TEST_LAB_PROFILE, OPTS)).filter((v) => typeof v === 'string')]) {
      expect(isValidOid(id as string)).toBe(true);
      expect((id as string).startsWith(`${TEST_LAB_PROFILE.documentIdRoot}.`)).toBe(true);
      expect((id as string).length).toBeLessThanOrEqual(64);
    }
    expect(a.versionNumber).toBe(1);
  });

  test('new message → new document id, same set id; options win', () => {
    const a = n3Ids(rep, TEST_LAB_PROFILE, OPTS);
    const b = n3Ids({ ...rep, sourceControlId: 'OTHER' }, TEST_LAB_PROFILE, OPTS);
    expect(b.setId).toBe(a.setId);
    expect(b.documentId).not.toBe(a.documentId);
    expect(n3Ids(rep, TEST_LAB_PROFILE, { ...OPTS, documentId: '1.2.3.4', setId: '1.2.3', versionNumber: 3 })).toEqual({ documentId: '1.2.3.4', setId: '1.2.3', versionNumber: 3 });
    expect(() => n3Ids(rep, TEST_LAB_PROFILE, { ...OPTS, versionNumber: 0 })).toThrow();
    expect(() => n3Ids(rep, TEST_LAB_PROFILE, { ...OPTS, documentId: '1.02.3' })).toThrow();
  });

  test('OID validation and hash arcs', () => {
    expect(isValidOid('1.2.250.1.213.1.1.9.99')).toBe(true);
    expect(isValidOid('1.2.05')).toBe(false);
    expect(isValidOid('1')).toBe(false);
    expect(isValidOid('1.2.x')).toBe(false);
    for (const s of ['', 'a', 'b', 'MSG1']) expect(hashArc(s)).toMatch(/^[1-9]\d{0,14}$/);
  });
});
