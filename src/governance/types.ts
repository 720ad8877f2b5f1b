/** Plain objects governance returns. Names follow DESIGN.md's domain words. */
import type { AmendmentStatus, ProjectStatus } from './workflow.ts';

export type MemberRole = 'principal_investigator' | 'member';

export interface ProjectMember {
  readonly personId: string;
  readonly role: MemberRole;
}

/** The application as filed: versions are kept and diffable. */
export interface Application {
  readonly title: string;
  readonly organisation: string;
  readonly purpose: string;
  readonly publicInterest: string;
  readonly legalBasis: {
    readonly kind: 'cnil_authorisation' | 'reference_methodology';
    /** CNIL decision number, or the methodology (e.g. MR-004). */
    readonly reference: string;
  };
  readonly ethicsOpinionReference: string | null;
  readonly funding: string;
  readonly team: readonly { readonly name: string; readonly role: string; readonly organisation: string }[];
  readonly requestedScope: {
    readonly datasets: readonly { readonly dataset: string; readonly tables: readonly { readonly table: string; readonly columns: readonly string[] }[] }[];
    readonly years: { readonly from: number; readonly to: number };
    readonly population: string;
    readonly justification: string;
  };
  /** The applicant's case for more than one potential identifier; absent in versions filed before it existed. */
  readonly potentialIdentifierJustification?: string | null;
}

export interface Project {
  readonly id: string;
  readonly status: ProjectStatus;
  readonly title: string;
  readonly organisation: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly currentVersion: number;
  readonly members: readonly ProjectMember[];
}

export interface ApplicationVersion {
  readonly projectId: string;
  readonly version: number;
  readonly content: Application;
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface Review {
  readonly id: string;
  readonly applicationVersion: number;
  readonly step: string;
  readonly reviewerId: string;
  readonly decision: 'approve' | 'return' | 'reject';
  readonly comment: string;
  readonly reference: string | null;
  readonly permitVersion: number | null;
  /** The amendment reviewed, or null for a review of the project's own application. */
  readonly amendmentId: string | null;
  readonly createdAt: string;
}

/**
 * A request to change the permit in force (more or fewer columns, years, members): a new
 * application version reviewed like the first while the current permit stays in force.
 */
export interface Amendment {
  readonly id: string;
  readonly projectId: string;
  readonly status: AmendmentStatus;
  /** The application version under review (a new one at each revision). */
  readonly applicationVersion: number;
  /** The application version in force when the amendment was filed. */
  readonly baseApplicationVersion: number;
  /** The permit version in force when the amendment was filed. */
  readonly basePermitVersion: number;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly decidedAt: string | null;
}

/** The permit document (schemas/permit/permit.schema.json, version 1). */
export interface PermitDocument {
  readonly schemaVersion: 1;
  readonly projectId: string;
  readonly title: string;
  readonly datasets: readonly { readonly dataset: string; readonly tables: readonly { readonly table: string; readonly columns: readonly string[] }[] }[];
  readonly years: { readonly from: number; readonly to: number };
  readonly population: { readonly description: string; readonly criteria: readonly { readonly column: string; readonly op: 'in' | 'not_in' | 'between'; readonly values: readonly (string | number)[] }[] };
  readonly members: readonly ProjectMember[];
  readonly tools: readonly ('web_sql' | 'database_protocol')[];
  readonly disclosure: { readonly minimumCellCount: number; readonly roundingBase?: number; readonly dominance?: { readonly n: number; readonly k: number }; readonly checkersRequired?: number };
  readonly potentialIdentifierException?: { readonly columns: readonly string[]; readonly justification: string };
  readonly validFrom: string;
  readonly validUntil: string;
}

/** `lapsed`: an amendment's proposal that never came into force (the amendment was returned, refused, withdrawn). */
export type PermitState = 'proposed' | 'active' | 'superseded' | 'ended' | 'lapsed';

export interface Permit {
  readonly projectId: string;
  readonly version: number;
  readonly document: PermitDocument;
  readonly sha256: string;
  readonly state: PermitState;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly activatedAt: string | null;
  /** The amendment this version was proposed for, or null for the first permit. */
  readonly amendmentId: string | null;
}

export interface Notification {
  readonly id: string;
  readonly projectId: string | null;
  readonly kind: string;
  readonly message: string;
  readonly createdAt: string;
  readonly readAt: string | null;
}

/** An entry of the public register (EHDS art. 57): no person named. */
export interface RegisterEntry {
  readonly projectId: string;
  readonly title: string;
  readonly organisation: string;
  readonly purposeSummary: string;
  readonly datasets: readonly string[];
  readonly validFrom: string;
  readonly validUntil: string;
  readonly decision: 'approved';
  readonly decidedAt: string | null;
  readonly status: ProjectStatus;
  /** Every permit version that has been in force, newest first (earlier ones superseded by amendments). */
  readonly versions: readonly { readonly version: number; readonly state: PermitState; readonly activatedAt: string | null; readonly datasets: readonly string[]; readonly validFrom: string; readonly validUntil: string }[];
}

/** A person's notification settings: in-app notifications always; e-mail unless turned off. */
export interface NotificationSettings {
  readonly email: boolean;
}

/** An application being written, saved on the server as the wizard goes (not yet a project). */
export interface ApplicationDraft {
  readonly id: string;
  /** The wizard's state as left: may be incomplete; validated only when filed. */
  readonly content: Record<string, unknown>;
  /** The wizard step the applicant was on. */
  readonly step: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}
