/** Plain objects governance returns. Names follow DESIGN.md's domain words. */
import type { ProjectStatus } from './workflow.ts';

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
  readonly createdAt: string;
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

export type PermitState = 'proposed' | 'active' | 'superseded' | 'ended';

export interface Permit {
  readonly projectId: string;
  readonly version: number;
  readonly document: PermitDocument;
  readonly sha256: string;
  readonly state: PermitState;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly activatedAt: string | null;
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
}
