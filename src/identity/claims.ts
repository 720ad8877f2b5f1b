/**
 * From verified OpenID claims (ID token merged with userinfo) to the profile Enclave keeps.
 * Standard claims first; Pro Santé Connect's own claims (SubjectOrganization, SubjectNameID,
 * SubjectRefPro) when present. A PSC identity without SubjectRefPro is not a health professional.
 */

/** Professions of the RPPS nomenclature (TRE_G15-ProfessionSante) Enclave names; others by code. */
export const PSC_PROFESSIONS: Readonly<Record<string, string>> = {
  '10': 'Médecin', '21': 'Pharmacien', '26': 'Audioprothésiste', '28': 'Opticien-Lunetier', '40': 'Chirurgien-Dentiste',
  '50': 'Sage-Femme', '60': 'Infirmier', '70': 'Masseur-Kinésithérapeute', '80': 'Pédicure-Podologue', '81': 'Orthoprothésiste',
  '91': 'Orthophoniste', '92': 'Orthoptiste', '93': 'Psychologue', '94': 'Ergothérapeute', '95': 'Diététicien', '96': 'Psychomotricien',
};

export interface ClaimsProfile {
  readonly displayName: string;
  readonly email: string | null;
  readonly organisation: string;
  /** PSC: whether the identity carries a professional record (SubjectRefPro with an exercice). */
  readonly healthProfessional: boolean;
  /** PSC: national professional id (RPPS/ADELI), from SubjectNameID or preferred_username. */
  readonly professionalId: string | null;
  /** PSC: profession labels of each exercice. */
  readonly professions: readonly string[];
}

const str = (c: Readonly<Record<string, unknown>>, k: string): string | null => {
  const v = c[k];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
};

/**
 * @example
 *   profileFromClaims({ sub: 'x', given_name: 'Fistinien', family_name: 'Grominoch' }).displayName  // 'Fistinien Grominoch'
 */
export function profileFromClaims(c: Readonly<Record<string, unknown>>): ClaimsProfile {
  const ref = c['SubjectRefPro'];
  const exercices = typeof ref === 'object' && ref !== null && Array.isArray((ref as { exercices?: unknown }).exercices)
    ? ((ref as { exercices: unknown[] }).exercices.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null))
    : [];
  const professions = exercices.map((e) => {
    const code = typeof e['codeProfession'] === 'string' ? e['codeProfession'] : '';
    return PSC_PROFESSIONS[code] ?? `profession ${code}`;
  });
  const given = str(c, 'given_name');
  const family = str(c, 'family_name');
  const name = str(c, 'name') ?? ([given, family].filter((x) => x !== null).join(' ') || str(c, 'preferred_username') || 'unnamed');
  return {
    displayName: name,
    email: str(c, 'email'),
    organisation: str(c, 'organisation') ?? str(c, 'SubjectOrganization') ?? '',
    healthProfessional: exercices.length > 0,
    professionalId: str(c, 'SubjectNameID') ?? (exercices.length > 0 ? str(c, 'preferred_username') : null),
    professions,
  };
}
