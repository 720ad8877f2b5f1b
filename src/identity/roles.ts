/**
 * Platform roles: what a person may do across projects. Project membership (principal
 * investigator, member) is governance's, and never comes from a role.
 */
export const PLATFORM_ROLES = [
  'applicant',
  'ethics_reviewer',
  'legal_reviewer',
  'access_committee',
  'output_checker',
  'operator',
  'auditor',
  'admin',
] as const;
export type Role = (typeof PLATFORM_ROLES)[number];

/**
 * Roles that review others' work (projects, permits, outputs): granting or removing one takes two
 * admins, one proposing and another approving (four eyes), and nobody changes their own roles.
 */
export const REVIEWING_ROLES = ['ethics_reviewer', 'legal_reviewer', 'access_committee', 'output_checker'] as const satisfies readonly Role[];

export function isReviewingRole(r: Role): boolean {
  return (REVIEWING_ROLES as readonly Role[]).includes(r);
}

export function isRole(s: string): s is Role {
  return (PLATFORM_ROLES as readonly string[]).includes(s);
}

/**
 * Who is acting in a request: a person, their platform roles, and how they proved it. An API
 * token is scoped to one project: `projectScope` is set and nothing outside it is allowed.
 */
export interface Principal {
  readonly personId: string;
  readonly roles: ReadonlySet<Role>;
  readonly via: 'session' | 'token' | 'local';
  readonly projectScope: string | null;
}

/** The audit actor of a principal. */
export function actorOf(p: Pick<Principal, 'personId'>): { readonly kind: 'person'; readonly id: string } {
  return { kind: 'person', id: p.personId };
}
