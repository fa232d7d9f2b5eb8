// Test helpers of the CLI package. Not exported.
import { runCli } from '../program.js';

/** Runs `lenet <argv>` in this process and returns its exit code and what it printed. */
export async function lenet(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { out: (t: string) => (out += t), err: (t: string) => (err += t), interactive: false };
  const code = await runCli(argv, io);
  return { code, out, err };
}
