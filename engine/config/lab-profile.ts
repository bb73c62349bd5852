import { z } from 'zod';
import type { LabProfile } from '../lab/profile';
import { loadYamlFile } from './yaml-file';

/**
 * Lab profile files (channels/labs/*.yaml): who the lab is and the mentions every report
 * carries. Validated once, frozen. Field meanings: engine/lab/profile.ts and docs/documents.md.
 */

const oid = z.string().regex(/^[0-2](\.(0|[1-9][0-9]*))+$/, 'an OID: digits and dots, no leading zeros');
const address = z.strictObject({
  street: z.array(z.string()).optional(),
  city: z.string().optional(),
  postalCode: z.string().optional(),
  country: z.string().optional(),
});
const telecom = z.array(z.string().regex(/^(tel|fax|mailto|http|https):/, 'a URL: tel:, fax:, mailto:…'));
const coded = z.strictObject({ code: z.string().min(1), display: z.string().min(1) });

export const labProfileSchema = z.strictObject({
  lab: z.strictObject({
    name: z.string().min(1),
    /** FINESS (geographical) of the lab; idRoot defaults to the FINESS OID. */
    id: z.string().min(1),
    idRoot: oid.default('1.2.250.1.71.4.2.2'),
    finess: z.string().optional(),
    address: address.optional(),
    telecom: telecom.optional(),
  }),
  director: z.strictObject({
    id: z.string().min(1),
    idAuthorityOid: oid.default('1.2.250.1.71.4.2.1'),
    family: z.string().min(1),
    given: z.string().optional(),
    prefix: z.string().optional(),
    mssante: z.string().email().optional(),
    telecom: telecom.optional(),
  }),
  cofrac: z.strictObject({ number: z.string().min(1), scope: z.string().optional() }).optional(),
  accreditedCodes: z.array(z.string()).default([]),
  rgpdText: z.string().min(1),
  autoValidationText: z.string().default('Certains résultats ont été validés automatiquement, sans relecture par un biologiste.'),
  documentIdRoot: oid,
  orderIdRoot: oid,
  patientIdRoot: oid,
  software: z.strictObject({ name: z.string(), version: z.string() }).default({ name: 'Passerelle', version: '0.1.0' }),
  sectorCode: coded.default({ code: 'AMBULATOIRE', display: 'Ambulatoire' }),
  facilityCode: coded.default({ code: 'SA25', display: 'Laboratoire de biologie médicale' }),
  authorSpecialty: coded
    .extend({ system: oid })
    .default({ code: 'G15_10/SM03', display: 'Médecin - Biologie médicale (SM)', system: '1.2.250.1.213.1.1.4.5' }),
  address,
  telecom,
});

/** Loads and validates a lab profile; errors name the file and line. */
export function loadLabProfile(file: string, env: NodeJS.ProcessEnv = process.env): LabProfile {
  return loadYamlFile(file, labProfileSchema, env).value as LabProfile;
}
