// Whether a container engine can run the tests here: it must answer AND be able to build the agent image
// without a registry (its base image is local, or the image is built). Otherwise it is left out with the reason
// printed, unless CARAPACE_REQUIRE_DOCKER=1 (CI), which keeps docker in so that its failure shows.
import { APP_ROOT } from '../../src/app-root.js';
import { loadConfig } from '../../src/config.js';
import { agentImageInputs, baseImageMissing } from '../../src/sandbox/image.js';
import type { Availability, SandboxRuntime } from '../../src/sandbox/runtime.js';
import { usesImage } from '../../src/sandbox/select.js';

export const dockerRequired = process.env.CARAPACE_REQUIRE_DOCKER === '1';
export const testImageConfig = loadConfig({ ...process.env }, { requireCredentials: false }).image; // CARAPACE_BASE_IMAGE

/** The backend's availability for tests: an engine that cannot build the agent image offline is unavailable. */
export async function usableForTests(runtime: SandboxRuntime): Promise<Availability> {
  const availability = await runtime.available();
  if (!availability.ok || !usesImage(runtime)) return availability;
  if (dockerRequired && runtime.kind === 'docker') return availability;
  const { tag } = agentImageInputs(APP_ROOT, testImageConfig);
  if ((await runtime.imageExists(tag)) || (await runtime.imageExists(testImageConfig.base))) return availability;
  return { ok: false, reason: `it runs, but cannot build the agent image: ${baseImageMissing(runtime.kind, testImageConfig.base)}` };
}
