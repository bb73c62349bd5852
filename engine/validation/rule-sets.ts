/**
 * The stable rule-set names and where each lives in an ANS kit, plus the load pipeline
 * (read + include → expand → value-set rewrite). The product never bundles ANS files: every
 * path is relative to the kit directory the caller gives.
 */
import * as path from 'node:path';
import { PasserelleError } from '../errors';
import { DocRefRewriter } from './doc-refs';
import { hoistValueSetAccess } from './hoist';
import type { RuleSetModel } from './model';
import { SchematronExpander } from './sch-expand';
import { SchTreeReader } from './sch-tree';

export const RULE_SET_FILES = {
  'volet-2024.01': 'schematrons/CI-SIS_BIO-CR-BIO_2024.01.sch',
  'volet-2021.01': 'schematrons/CI-SIS_BIO-CR-BIO_2021.01.sch',
  IHE: 'schematrons/profils/IHE.sch',
  ModelesDeContenusCDA: 'schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch',
  Modeles_ANS: 'schematrons/profils/CI-SIS_Modeles_ANS.sch',
  StrucMin: 'schematrons/profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch',
  terminologie: 'schematrons/profils/terminologies/schematron/terminologie.sch',
} as const;

export type RuleSetName = keyof typeof RULE_SET_FILES;
export const RULE_SET_NAMES = Object.keys(RULE_SET_FILES) as RuleSetName[];
/** Pseudo rule set for the CDA XML schema. */
export const XSD_RULE_SET = 'xsd';
export const XSD_FILE = 'infrastructure/cda/CDA_extended.xsd';

export function isRuleSetName(n: string): n is RuleSetName {
  return Object.prototype.hasOwnProperty.call(RULE_SET_FILES, n);
}

export function assertRuleSetName(n: string): RuleSetName {
  if (!isRuleSetName(n)) {
    throw new PasserelleError('PSL_VALIDATION_RULESET_UNKNOWN', `unknown rule set '${n}' (known: ${RULE_SET_NAMES.join(', ')}, ${XSD_RULE_SET})`);
  }
  return n;
}

/** Parse, resolve includes, expand and rewrite value-set access for one rule set. */
export function loadRuleSetModel(kitDir: string, name: RuleSetName): RuleSetModel {
  const mainFile = path.join(kitDir, RULE_SET_FILES[name]);
  const reader = new SchTreeReader();
  const root = reader.read(mainFile);
  const model = new SchematronExpander({
    name,
    kitDir,
    mainFile,
    root,
    warnings: reader.warnings,
    fileCount: reader.files.size,
  }).expand();
  new DocRefRewriter(model, kitDir).rewrite();
  hoistValueSetAccess(model);
  return model;
}
