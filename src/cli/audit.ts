// `carapace audit [--fix] [--json]`: what makes this install unsafe, by stable check id; `--fix` repairs only
// what is safe to repair (file modes and ownership) and checks again. `start` runs it once, at the first start.
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { readContainerConfig } from '../groups/group-config.js';
import { dataPaths } from '../fs/paths.js';
import { openDatabaseReadonly } from '../store/db.js';
import { Store } from '../store/store.js';
import { dataDirMode, sandboxUid, secretModes, webExposure, type AuditInput, type Finding } from './audit-checks.js';
import { egressDefaults, mountAllowlist, staleCredentials } from './audit-exposure.js';
import { writeJson, type CliContext } from './context.js';
import { DEFAULT_ENV_FILE, readEnvFile } from './env-file.js';
import { EXIT } from './exit.js';

export type AuditReport = { ok: boolean; fixed: string[]; checks: Omit<Finding, 'repair'>[] };

export function runChecks(config: Config, store?: Store, envFile = DEFAULT_ENV_FILE): Finding[] {
  const groupEgress = (store?.listGroups() ?? []).flatMap((g) => {
    const allow = readContainerConfig(g.containerConfig).config.egress?.allow;
    return allow ? [{ folder: g.folder, allow }] : [];
  });
  const input: AuditInput = { config, envFile, uid: process.getuid?.(), groupEgress };
  return [
    ...dataDirMode(input),
    secretModes(input),
    webExposure(input),
    sandboxUid(input),
    mountAllowlist(input),
    egressDefaults(input),
    staleCredentials(input, readEnvFile(envFile)),
  ];
}

/** Check, repair what may be repaired (with `fix`), and check again. */
export function audit(config: Config, store: Store | undefined, fix: boolean, envFile = DEFAULT_ENV_FILE): AuditReport {
  let findings = runChecks(config, store, envFile);
  const fixed: string[] = [];
  if (fix) {
    for (const f of findings.filter((x) => !x.ok && x.repair)) {
      f.repair!();
      fixed.push(`${f.id}: ${f.fix}`);
    }
    if (fixed.length) findings = runChecks(config, store, envFile);
  }
  const checks = findings.map(({ repair: _repair, ...rest }) => rest);
  return { ok: checks.every((c) => c.ok), fixed, checks };
}

export function renderAudit(r: AuditReport): string {
  const lines = r.fixed.map((f) => `fixed  ${f}`);
  for (const c of r.checks) {
    lines.push(`${c.ok ? '✔' : '✘'} ${c.id.padEnd(26)} ${c.ok ? '' : `[${c.severity}] `}${c.detail}`);
    if (!c.ok && c.fix) lines.push(`  ${''.padEnd(26)} fix: ${c.fix}`);
  }
  const repairable = r.checks.some((c) => !c.ok && ['data-dir-mode', 'data-dir-owner', 'secret-file-modes'].includes(c.id));
  lines.push('', r.ok ? 'Nothing unsafe found.' : `Unsafe settings found.${repairable ? ' `carapace audit --fix` repairs the file modes and ownership.' : ''}`);
  return lines.join('\n');
}

export function addAudit(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('check this install for unsafe settings (file modes, exposure, sandbox uid, mounts, egress, credentials)')
    .option('--fix', 'repair what is safe to repair: file modes and ownership')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nCheck ids are stable. Exits 1 when something unsafe remains.')
    .action(async (o: { fix?: boolean; json?: boolean }) => {
      const config = ctx.config();
      // Opened read-only: opening it the usual way would tighten the very modes this checks.
      const file = dataPaths(config.dataDir).db;
      const db = existsSync(file) ? openDatabaseReadonly(file) : undefined;
      let report: AuditReport;
      try {
        report = audit(config, db && new Store(db), o.fix === true);
      } finally {
        db?.close();
      }
      if (o.json) writeJson(ctx, report);
      else ctx.out.write(`${renderAudit(report)}\n`);
      ctx.exitCode = report.ok ? EXIT.ok : EXIT.failure;
    });
}

/** At the first start of a data folder: audit once, log the result, and tell the owner what is unsafe. */
export function firstStartAudit(config: Config, store: Store, say: (line: string) => void, log: Logger): void {
  const marker = join(config.dataDir, 'audited');
  if (existsSync(marker)) return;
  const report = audit(config, store, false);
  const failing = report.checks.filter((c) => !c.ok);
  if (failing.length) {
    log.warn({ audit: failing }, `security audit: ${failing.map((c) => c.id).join(', ')}`);
    say(`Security audit (first start; \`carapace audit\` repeats it):\n${renderAudit(report)}\n`);
  } else log.info('security audit: nothing unsafe found');
  writeFileSync(marker, `${new Date().toISOString()}\n`, { mode: 0o600 });
}
