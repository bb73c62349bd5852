/** A small catalogue and transcoding for the FHIR tests: an exam and its only analysis share a code (GLY), as labs often do. */
import type { Catalogue, LoincAssignment, LoincMap } from '../../../engine/catalogue/types';

export const BASE = 'https://labo.example.fr/fhir';

export function smallCatalogue(): Catalogue {
  return {
    chapters: [
      { code: 'BIOCH', label: 'Biochimie', subChapters: [{ code: 'PROT', label: 'Protéines' }, { code: 'GLUC', label: 'Glucides' }] },
      { code: 'HEMA', label: 'Hématologie', subChapters: [{ code: 'PROT', label: 'Protéines sériques' }] },
    ],
    exams: [
      { code: 'GLY', label: 'Glycémie à jeun', synonym: 'Glucose', chapter: 'BIOCH', subChapter: 'GLUC', specimen: 'Plasma', nabm: ['0552'], analyses: ['GLY'] },
      { code: 'INFLAM', label: 'Bilan inflammatoire', chapter: 'BIOCH', subChapter: 'PROT', specimen: 'Sérum', nabm: ['1804', '1805'], analyses: ['CRP', 'VS'] },
      { code: 'ZZHN', label: 'Examen hors nomenclature', nabm: ['HN'], analyses: [] },
    ],
    analyses: [
      { code: 'GLY', label: 'Glucose', property: 'SCnc', unit: { code: 'mmol/L', label: 'millimoles par litre' }, time: 'Pt', system: { code: 'Ser/Plas', label: 'Sérum ou plasma' }, scale: 'Qn', nabm: ['0552'] },
      { code: 'CRP', label: 'Protéine C réactive', synonym: 'CRP', property: 'MCnc', unit: { code: 'mg/L', label: 'milligrammes par litre' }, time: 'Pt', system: { code: 'Ser/Plas', label: 'Sérum ou plasma' }, scale: 'Qn', nabm: ['1804'] },
      { code: 'VS', label: 'Vitesse de sédimentation', property: 'Vel', unit: { code: 'mm/h', label: 'millimètres par heure' }, time: 'Pt', system: { code: 'Bld', label: 'Sang' }, scale: 'Qn', method: 'Westergren', nabm: [] },
    ],
  };
}

const at = (loinc: string, created: string, modified: string, label?: string): LoincAssignment => ({ loinc, created, modified, ...(label ? { label } : {}) });

export function smallMap(): LoincMap {
  return {
    chapters: new Map([['BIOCH', at('18719-5', '2023-01-10', '2023-01-10', 'Chemistry studies (set)')]]),
    subChapters: new Map([['BIOCH/PROT', at('18719-5', '2023-01-10', '2024-03-02')]]),
    exams: new Map([['GLY', at('2345-7', '2023-02-01', '2024-05-06', 'Glucose [Moles/volume] in Serum or Plasma')]]),
    analyses: new Map([
      ['GLY', at('2345-7', '2023-02-01', '2023-02-01', 'Glucose [Moles/volume] in Serum or Plasma')],
      ['CRP', at('1988-5', '2022-11-30', '2024-01-15', 'C reactive protein [Mass/volume] in Serum or Plasma')],
      ['VS', at('4537-7', '2022-11-30', '2022-11-30')],
    ]),
  };
}

/** The map as plain objects, for toEqual. */
export function plain(map: LoincMap): Record<string, Record<string, LoincAssignment>> {
  return Object.fromEntries(Object.entries(map).map(([k, t]) => [k, Object.fromEntries(t as Map<string, LoincAssignment>)]));
}
