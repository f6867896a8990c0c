// Every sandbox backend the attack suites attack: bubblewrap always, docker and podman when they run here and can build the image
// (CI requires docker; the conformance suite checks that). A new backend adds one line here.
import { BwrapRuntime } from '../../src/sandbox/bwrap.js';
import type { SandboxRuntime } from '../../src/sandbox/runtime.js';
import { createRuntime } from '../../src/sandbox/select.js';
import { toolUse, type Block } from './fake-anthropic.js';
import { testImageConfig, usableForTests } from './usable-engines.js';

export interface AttackRuntime {
  name: string;
  create: (stateDir: string) => SandboxRuntime;
}

const ENGINES = (['docker', 'podman'] as const).map((kind) => ({
  name: kind,
  create: (stateDir: string) => createRuntime(kind, { stateDir, image: testImageConfig }),
}));

export const ATTACK_RUNTIMES: AttackRuntime[] = [
  { name: 'bubblewrap', create: (stateDir) => new BwrapRuntime({ stateDir }) },
  ...(await Promise.all(ENGINES.map(async (e) => ((await usableForTests(e.create('/nonexistent'))).ok ? [e] : [])))).flat(),
];

/** One Bash tool call, stderr folded into what the agent sees. */
export const bash = (command: string): Block[] => [toolUse('Bash', { command: `(${command}) 2>&1`, description: 'attack' })];
