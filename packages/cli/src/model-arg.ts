import { existsSync } from 'node:fs';
import type { ModelSpec } from '@lenet/models';
import { CliFailure, UsageError } from './errors.js';

/** Resolves `--model <preset|spec.json>` to a spec, adapted to `input`/`classes` when given. */
export async function resolveModel(
  model: string,
  fit?: { input?: [number, number, number]; classes?: number },
): Promise<{ spec: ModelSpec; adaptations: string[] }> {
  const models = await import('@lenet/models');
  const looksLikeFile = model.endsWith('.json') || model.includes('/');
  if (looksLikeFile) {
    if (!existsSync(model)) throw new CliFailure(`${model}: model spec file not found`);
    try {
      return { spec: await models.loadSpec(model), adaptations: [] };
    } catch (e) {
      throw new CliFailure((e as Error).message);
    }
  }
  if (!(models.presetNames() as string[]).includes(model)) {
    throw new UsageError(
      `unknown model '${model}'; presets: ${models.presetNames().join(', ')} (or a spec .json file)`,
    );
  }
  try {
    return models.getPreset(model, fit ?? {});
  } catch (e) {
    if (e instanceof models.SpecError) throw new CliFailure(e.message);
    throw e;
  }
}
