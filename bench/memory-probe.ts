// Loaded into the measured `carapace start` with `node --import` (bench only, never by Carapace itself): every
// second it writes the process's own view of its memory (V8 heap, external, array buffers) to
// `memory-usage.json` in its working directory, which the bench reads beside /proc.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';

const file = join(process.cwd(), 'memory-usage.json');
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

function write(): void {
  const usage = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [`${s.space_name}Mb`, mb(s.space_size)]));
  const reading = {
    heapTotalMb: mb(usage.heapTotal),
    heapUsedMb: mb(usage.heapUsed),
    externalMb: mb(usage.external),
    arrayBuffersMb: mb(usage.arrayBuffers),
    ...spaces,
  };
  writeFileSync(`${file}.tmp`, JSON.stringify(reading));
  renameSync(`${file}.tmp`, file);
}

setInterval(write, 1000).unref();
