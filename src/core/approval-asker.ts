// Where an egress proxy asks the owner about a destination that is not on its group's list. The approval desk
// (egress-approvals.ts) registers itself here per data folder; agent runs only need this small door to it.

/** A request as the egress proxy holds it. */
export interface HeldRequest {
  host: string;
  port: number;
  method: string;
  path?: string;
}

export interface ApprovalVerdict {
  allowed: boolean;
  /** Why, for the log, the console and (when refused) the agent. */
  reason: string;
  /** False when no card was shown (never ask, no owner, too many waiting): the owner does not know of it yet. */
  asked?: boolean;
}

export interface EgressAsker {
  ask(groupId: number, req: HeldRequest): Promise<ApprovalVerdict>;
}

const askers = new Map<string, EgressAsker>();

export function registerAsker(dataDir: string, asker: EgressAsker): void {
  askers.set(dataDir, asker);
}

/** Ask the owner of the install in `dataDir`; refused when nobody is there to ask. */
export function askOwner(dataDir: string, groupId: number, req: HeldRequest): Promise<ApprovalVerdict> {
  return askers.get(dataDir)?.ask(groupId, req) ?? Promise.resolve({ allowed: false, reason: 'there is no owner to ask', asked: false });
}
