// The interactive prompts (@inquirer/prompts), loaded only when a command asks something: `carapace start`
// never does, and the orchestrator's memory should not carry them.
export const prompts = () => import('@inquirer/prompts');
