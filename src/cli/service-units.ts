// The files that make Carapace a service: a systemd user unit (Linux, WSL2 with systemd) and a launchd agent
// (macOS). Both run `carapace start` from this checkout with the data directory it was installed for, restart it
// when it fails (not when it stopped cleanly or found another instance running), and leave logging to
// Carapace's own log file; what it prints before its logger exists (a bad setting) goes to the journal or a file.

export interface ServiceSpec {
  /** The Node binary that runs Carapace now (a service manager's PATH may not find the same one). */
  node: string;
  /** bin/carapace.js of this checkout. */
  bin: string;
  /** The checkout (holds package.json and .env): the working directory. */
  appRoot: string;
  dataDir: string;
  /** Where launchd writes what Carapace prints on stderr (systemd keeps it in the journal). */
  stderrFile: string;
  /** Settings the service needs that a service manager does not give: PATH (to find bwrap, docker, …), the .env. */
  env: Record<string, string>;
}

export const SYSTEMD_UNIT_NAME = 'carapace.service';
export const LAUNCHD_LABEL = 'dev.carapace.assistant';

/** A value as systemd reads it inside double quotes: `\` and `"` escaped, `%` (specifiers) doubled. */
const unitQuote = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;

export function systemdUnit(spec: ServiceSpec): string {
  const env = Object.entries({ ...spec.env, CARAPACE_DATA_DIR: spec.dataDir }).map(([k, v]) => `Environment=${unitQuote(`${k}=${v}`)}`);
  return [
    '# Written by `carapace service install`; `carapace service uninstall` removes it.',
    '[Unit]',
    'Description=Carapace, a personal AI assistant whose agents run in sandboxes',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `WorkingDirectory=${spec.appRoot.replace(/%/g, '%%')}`, // the rest of the line, unquoted
    `ExecStart=${unitQuote(spec.node)} ${unitQuote(spec.bin)} start`,
    ...env,
    'Restart=on-failure',
    'RestartSec=5',
    '# 4: another Carapace already runs for this data directory; starting again would not help.',
    'RestartPreventExitStatus=4',
    '# SIGTERM to Carapace alone: it stops its sandboxes itself before the rest of the group is killed.',
    'KillMode=mixed',
    'TimeoutStopSec=30',
    '# Every log line is in the log file (`carapace logs`); the journal keeps what is printed before it opens.',
    'StandardOutput=null',
    'StandardError=journal',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

const xml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const plistString = (value: string) => `<string>${xml(value)}</string>`;

export function launchdPlist(spec: ServiceSpec): string {
  const env = Object.entries({ ...spec.env, CARAPACE_DATA_DIR: spec.dataDir }).map(([k, v]) => `    <key>${xml(k)}</key>${plistString(v)}`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `carapace service install`; `carapace service uninstall` removes it. -->',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key>${plistString(LAUNCHD_LABEL)}`,
    '  <key>ProgramArguments</key>',
    `  <array>${[spec.node, spec.bin, 'start'].map(plistString).join('')}</array>`,
    `  <key>WorkingDirectory</key>${plistString(spec.appRoot)}`,
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    ...env,
    '  </dict>',
    '  <key>RunAtLoad</key><true/>',
    '  <!-- Restart when it fails, not after a clean stop. -->',
    '  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>',
    '  <key>ThrottleInterval</key><integer>10</integer>',
    `  <key>StandardOutPath</key>${plistString('/dev/null')}`,
    `  <key>StandardErrorPath</key>${plistString(spec.stderrFile)}`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}
