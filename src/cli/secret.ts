// `carapace secret add|list|remove`: the owner's vault of API secrets. Values come from a masked prompt or
// one line of stdin (never an argument: it would sit in the shell history and in /proc/<pid>/cmdline), are
// sealed at once, and are never printed again. Chats get them by a grant from the main chat (grant_secret).
import type { Command } from 'commander';
import { SecretVault, vaultDir, VaultError, type Secret } from '../boundary/secret-vault.js';
import { grantsBySecret } from '../store/secrets.js';
import { writeJson, type CliContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { setupIO } from './setup-io.js';
import { onStore, withStore } from './with-store.js';

interface AddOptions {
  host: string;
  header: string;
  format: string;
  env?: string;
}

/** GITHUB_TOKEN for "github": what the agent's environment calls the placeholder unless told otherwise. */
const defaultEnv = (name: string) => `${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_TOKEN`;

async function addSecret(ctx: CliContext, name: string, o: AddOptions): Promise<void> {
  const value = await setupIO(ctx).ask(`Value of secret "${name}"`, { secret: true });
  const draft: Secret = { name, host: o.host, header: o.header, format: o.format, env: o.env ?? defaultEnv(name), value };
  await onStore(ctx, (store, config) => {
    try {
      const s = new SecretVault(store.db, vaultDir(config.dataDir)).add(draft);
      ctx.out.write(
        `Saved "${s.name}" (sealed). Chats granted it see ${s.env}=carapace:secret:${s.name}; the egress proxy puts the value in ` +
          `the ${s.header} header ("${s.format}") of requests to ${s.host} only.\n` +
          `Next: ask the assistant in the main chat to grant "${s.name}" to a chat (and allow ${s.host} there).\n`,
      );
    } catch (err) {
      if (err instanceof VaultError) throw new CliError(err.message, EXIT.usage);
      throw err;
    }
  });
}

export function addSecretCommands(program: Command, ctx: CliContext): void {
  const secret = program.command('secret').description('API secrets agents can use but never read: add, list, remove');
  secret
    .command('add')
    .description('add or replace a secret; its value is read from a masked prompt or one line of stdin')
    .argument('<name>', 'lower case name, e.g. github')
    .requiredOption('--host <host>', 'the only host it is sent to, e.g. api.github.com')
    .option('--header <name>', 'the request header it goes in', 'Authorization')
    .option('--format <text>', 'that header’s value, {} standing for the secret', 'Bearer {}')
    .option('--env <VAR>', 'the variable agents see the placeholder in (default NAME_TOKEN)')
    .action((name: string, o: AddOptions) => addSecret(ctx, name, o));
  secret
    .command('list', { isDefault: true })
    .description('each secret: host, header, placeholder variable and the chats granted it (never the value)')
    .option('--json', 'print the result as JSON')
    .action((o: { json?: boolean }) =>
      withStore(
        ctx,
        (store, config) => {
          const grants = grantsBySecret(store.db);
          const list = new SecretVault(store.db, vaultDir(config.dataDir))
            .list()
            .map((s) => ({ ...s, grantedTo: grants.filter((g) => g.secret === s.name).map((g) => g.folder) }));
          if (o.json) return writeJson(ctx, list);
          if (list.length === 0) return void ctx.out.write('No secrets yet (carapace secret add NAME --host HOST).\n');
          for (const s of list) {
            ctx.out.write(`${s.name}: ${s.header} "${s.format}" to ${s.host}, as ${s.env}; granted to ${s.grantedTo.join(', ') || 'no chat'}\n`);
          }
        },
        o.json ? [] : undefined,
      ),
    );
  secret
    .command('remove')
    .description('delete a secret and every grant of it')
    .argument('<name>', 'the secret')
    .action((name: string) =>
      onStore(ctx, (store, config) => {
        if (!new SecretVault(store.db, vaultDir(config.dataDir)).remove(name)) throw new CliError(`No secret "${name}".`, EXIT.usage);
        ctx.out.write(`Removed "${name}": no chat can use it any more.\n`);
      }),
    );
}
