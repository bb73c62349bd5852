/**
 * The columns of the two annuaire.sante.fr extractions in their published order
 * (../shared/docs/dmp-mss-ins.md §5.1). The loader finds columns by name (formats.ts); these full
 * lists are for whoever writes such a file: the tests' small extractions and the load bench.
 */
export const PERSON_HEADER = [
  "Type d'identifiant PP", 'Identifiant PP', 'Identification nationale PP', "Code civilité d'exercice", "Libellé civilité d'exercice", 'Code civilité', 'Libellé civilité',
  "Nom d'exercice", "Prénom d'exercice", 'Code profession', 'Libellé profession', 'Code catégorie professionnelle', 'Libellé catégorie professionnelle',
  'Code type savoir-faire', 'Libellé type savoir-faire', 'Code savoir-faire', 'Libellé savoir-faire', 'Code mode exercice', 'Libellé mode exercice',
  'Numéro SIRET site', 'Numéro SIREN site', 'Numéro FINESS site', 'Numéro FINESS établissement juridique', 'Identifiant technique de la structure',
  'Raison sociale site', 'Enseigne commerciale site', 'Complément destinataire (coord. structure)', 'Complément point géographique (coord. structure)',
  'Numéro Voie (coord. structure)', 'Indice répétition voie (coord. structure)', 'Code type de voie (coord. structure)', 'Libellé type de voie (coord. structure)',
  'Libellé Voie (coord. structure)', 'Mention distribution (coord. structure)', 'Bureau cedex (coord. structure)', 'Code postal (coord. structure)',
  'Code commune (coord. structure)', 'Libellé commune (coord. structure)', 'Code pays (coord. structure)', 'Libellé pays (coord. structure)',
  'Téléphone (coord. structure)', 'Téléphone 2 (coord. structure)', 'Télécopie (coord. structure)', 'Adresse e-mail (coord. structure)',
  'Code Département (structure)', 'Libellé Département (structure)', 'Ancien identifiant de la structure', "Autorité d'enregistrement",
  "Code secteur d'activité", "Libellé secteur d'activité", 'Code section tableau pharmaciens', 'Libellé section tableau pharmaciens',
];

export const MSSANTE_HEADER = [
  'Type de BAL', 'Adresse BAL', 'Type Identifiant PP', 'Identifiant PP', 'Identification nationale PP', 'Type identifiant structure', 'Identification Structure',
  'Service de rattachement', "Civilité d'exercice", "Nom d'exercice", "Prénom d'exercice", 'Catégorie profession', 'Libellé de catégorie profession',
  'Code Profession', 'Libellé Profession', 'Code savoir-faire', 'Libellé savoir-faire', 'Dématérialisation', 'Raison Sociale structure BAL',
  'Enseigne commerciale structure BAL', 'L2COMPLEMENTLOCALISATION', 'L3COMPLEMENTDISTRIBUTION', 'L4NUMEROVOIE', 'L4COMPLEMENTNUMEROVOIE', 'NL4TYPEVOIE',
  'L4LIBELLEVOIE', 'L5LIEUDITMENTION', 'L6LIGNEACHEMINEMENT', 'Code postal', 'Département', 'Pays',
];
