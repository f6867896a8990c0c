// Secrets from the main chat: list the vault (names and where each may go, never values), grant a secret to a
// chat and revoke it. Values are added only by the owner at the host (`carapace secret add`), never by an agent.
import { z } from 'zod';
import { allows, parseAllowlist } from '../boundary/egress-policy.js';
import { grantSecret, grantsBySecret, listSecretRows, revokeSecret, secretRow } from '../store/secrets.js';
import type { Group, Store } from '../store/store.js';
import { findGroup } from './group-ops.js';
import { op, OpError, type Op, type OpContext } from './op.js';

const grantArgs = z.strictObject({ secret: z.string().min(1).max(40), group: z.string().min(1).max(200) });

function groupNamed(store: Store, ref: string): Group {
  const group = findGroup(store, ref);
  if (!group) throw new OpError(`No registered group "${ref}": use a folder or chat id from list_groups.`);
  return group;
}

/** The secret's host is reachable only if the chat's list allows it: say so rather than grant in vain. */
function reachNote(ctx: OpContext, group: Group, host: string): string {
  const own = (group.containerConfig.egress as { allow?: string[] } | undefined)?.allow;
  const rules = parseAllowlist(own ?? ctx.host.defaultEgressAllow);
  const [name, port] = host.split(':');
  return allows(rules, name, Number(port ?? 443)) ? '' : ` Note: ${host} is not on that chat's allowed list yet (set_allowed_domains), so it cannot be reached.`;
}

export const secretOps: Record<string, Op<unknown>> = {
  list_secrets: op({
    mainOnly: true,
    args: z.strictObject({}),
    run: ({ store }) => {
      const grants = grantsBySecret(store.db);
      return listSecretRows(store.db).map((s) => ({
        name: s.name,
        host: s.host,
        header: s.header,
        env: s.env,
        grantedTo: grants.filter((g) => g.secret === s.name).map((g) => g.folder),
      }));
    },
  }),

  grant_secret: op({
    mainOnly: true,
    args: grantArgs,
    run: (ctx, { secret, group: ref }) => {
      const row = secretRow(ctx.store.db, secret);
      if (!row) throw new OpError(`No secret "${secret}" in the vault; the owner adds secrets with \`carapace secret add\`.`);
      const group = groupNamed(ctx.store, ref);
      grantSecret(ctx.store.db, group.id, row.name);
      return `Granted "${row.name}" to ${group.folder}: its agent sees ${row.env}=carapace:secret:${row.name} from its next run.${reachNote(ctx, group, row.host)}`;
    },
  }),

  revoke_secret: op({
    mainOnly: true,
    args: grantArgs,
    run: (ctx, { secret, group: ref }) => {
      const group = groupNamed(ctx.store, ref);
      if (!revokeSecret(ctx.store.db, group.id, secret)) throw new OpError(`${group.folder} does not hold "${secret}".`);
      return `Revoked "${secret}" from ${group.folder}; its proxy stops substituting it at once.`;
    },
  }),
};
