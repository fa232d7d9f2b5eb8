import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes an executable stand-in for a Python with torch, for tests on machines without torch: it
 * answers `findTorch`'s probe (`-c ...`) and speaks `pytorch_ref.py --serve`'s protocol. Each timed
 * request gets `iterations` samples of `2 / threads` ms (more threads, faster); a request at batch
 * 13 is answered with an error, one at batch 77 never, and one at batch 99 ends the process after
 * writing to stderr.
 * Every request line is appended to `<dir>/requests.log`.
 */
export async function writeFakePython(dir: string): Promise<string> {
  const file = join(dir, 'fake-python.mjs');
  const log = join(dir, 'requests.log');
  await writeFile(
    file,
    `#!/usr/bin/env node
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const args = process.argv.slice(2);
if (args[0] === '-c') {
  console.log(JSON.stringify({ torch: '9.9-fake', blas: ['/usr/lib/openblas-pthread/libblas.so.3'] }));
  process.exit(0);
}
if (!args.includes('--serve')) process.exit(2);
for await (const line of createInterface({ input: process.stdin })) {
  appendFileSync(${JSON.stringify(log)}, line + '\\n');
  const req = JSON.parse(line);
  if (req.reset) { console.log(JSON.stringify({ ok: true })); continue; }
  if (req.batch === 13) { console.log(JSON.stringify({ error: 'ValueError: batch 13 is unlucky' })); continue; }
  if (req.batch === 77) continue;
  if (req.batch === 99) { process.stderr.write('Segmentation fault in fake torch\\n'); process.exit(139); }
  const samples = Array.from({ length: Math.max(1, req.iterations) }, () => 2 / req.threads);
  console.log(JSON.stringify({ torch: '9.9-fake', threads: req.threads, samples }));
}
`,
  );
  await chmod(file, 0o755);
  return file;
}
