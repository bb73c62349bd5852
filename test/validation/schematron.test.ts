/**
 * ISO Schematron semantics of our runner on a tiny self-made kit: include (with the
 * case-insensitive fallback), abstract patterns with params, abstract rules with extends, lets at
 * every level, default phase, first-matching-rule-per-pattern, reports, roles → severities,
 * value-of/name messages, value sets via document(), the upstream regex rewrite.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnsKit } from '../../engine/validation';

const SCH = `<?xml version="1.0" encoding="UTF-8"?>
<schema xmlns="http://purl.oclc.org/dsdl/schematron" defaultPhase="main">
  <ns prefix="cda" uri="urn:hl7-org:v3"/>
  <let name="jdv" value="'../jeuxDeValeurs/JDV_test.xml'"/>
  <include href="abstract/InJdv.SCH"/>
  <phase id="main"><active pattern="p1"/><active pattern="p-jdv"/><active pattern="vars"/></phase>
  <pattern id="vars"><let name="expected" value="'Hello'"/></pattern>
  <pattern id="p1">
    <rule abstract="true" id="has-code"><let name="c" value="@code"/><assert test="$c">code missing on <name/></assert></rule>
    <rule context="cda:observation[cda:templateId/@root='1.2.3']">
      <extends rule="has-code"/>
      <assert role="warning" test="cda:value">[w] no value</assert>
      <report role="info" test="cda:value/@unit = 'mg'">[i] unit <value-of select="cda:value/@unit"/></report>
      <assert test="matches(string(@code), '^-?[1-9]\\d*$|^+?\\d*$')">[int] code <value-of select="@code"/> not an INT</assert>
    </rule>
    <rule context="cda:observation"><assert test="false()">[second rule] must never fire on templated observations</assert></rule>
    <rule context="/cda:doc/cda:title"><assert test=". = $expected">[title] got <value-of select="."/></assert></rule>
  </pattern>
  <pattern id="p-inactive"><rule context="cda:doc"><assert test="false()">inactive pattern fired</assert></rule></pattern>
  <pattern id="p-jdv" is-a="inJdv">
    <param name="elt" value="cda:interpretationCode"/>
    <param name="path" value="$jdv"/>
  </pattern>
</schema>`;

const ABSTRACT = `<pattern xmlns="http://purl.oclc.org/dsdl/schematron" abstract="true" id="inJdv">
  <rule context="$elt">
    <let name="code" value="@code"/>
    <assert test="document($path)//*:Concept[@code = $code]">[jdv] <value-of select="@code"/> not in <value-of select="$path"/></assert>
  </rule>
</pattern>`;

const JDV = `<ValueSet xmlns="urn:ihe:iti:svs:2008"><ConceptList><Concept code="N"/><Concept code="H"/></ConceptList></ValueSet>`;

function doc(obsCode: string, interp: string, title = 'Hello'): string {
  return `<doc xmlns="urn:hl7-org:v3"><title>${title}</title>
  <observation code="${obsCode}"><templateId root="1.2.3"/><value unit="mg"/></observation>
  <observation><templateId root="1.2.3"/></observation>
  <interpretationCode code="${interp}"/></doc>`;
}

describe('Schematron runner semantics', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-sch-'));
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'psl-sch-cache-'));
  fs.mkdirSync(path.join(dir, 'schematrons/abstract'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'jeuxDeValeurs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch'), SCH);
  // note the case difference with the include (upstream defect handled by a fallback)
  fs.writeFileSync(path.join(dir, 'schematrons/abstract/InJdv.sch'), ABSTRACT);
  fs.writeFileSync(path.join(dir, 'jeuxDeValeurs/JDV_test.xml'), JDV);
  const kit = AnsKit.open(dir, { cacheDir });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('expands and runs the schema', () => {
    const r = kit.runRuleSet('volet-2024.01', doc('12', 'N'), 'indexed');
    const texts = r.findings.map((f) => `${f.severity}:${f.kind}:${f.text}`);
    expect(texts.sort()).toEqual(
      [
        'error:assert:code missing on observation',
        'warning:assert:[w] no value',
        'info:report:[i] unit mg',
      ].sort(),
    );
    const stats = kit.ruleSet('volet-2024.01').model;
    expect(stats.patterns.map((p) => p.id)).toEqual(['vars', 'p1', 'p-jdv']);
    expect(stats.warnings.join('\n')).toMatch(/case-insensitive match InJdv\.sch/);
  });

  it('value sets via document(), params substituted, messages with value-of', () => {
    const r = kit.runRuleSet('volet-2024.01', doc('x', 'ZZZ', 'Bye'), 'indexed');
    const texts = r.findings.map((f) => f.text);
    expect(texts).toContain('[jdv] ZZZ not in ../jeuxDeValeurs/JDV_test.xml');
    expect(texts).toContain('[title] got Bye');
    expect(texts).toContain('[int] code x not an INT');
    expect(r.findings.find((f) => f.text.startsWith('[jdv]'))?.location).toBe('/Q{urn:hl7-org:v3}doc[1]/Q{urn:hl7-org:v3}interpretationCode[1]');
  });

  it('reference mode gives the same hits and findings', () => {
    for (const x of [doc('12', 'N'), doc('x', 'ZZZ', 'Bye')]) {
      const a = kit.runRuleSet('volet-2024.01', x, 'indexed');
      const b = kit.runRuleSet('volet-2024.01', x, 'reference');
      expect(a.hits).toEqual(b.hits);
      expect(a.findings).toEqual(b.findings);
    }
  });
});
