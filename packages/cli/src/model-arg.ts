import { existsSync } from 'node:fs';
import type { ModelSpec } from '@lenet/models';
import { BadInputError, UsageError } from './errors.js';

/** Resolves `--model <preset|spec.json>` to a spec, adapted to `input`/`classes` when given. */
export async function resolveModel(
  model: string,
  fit?: { input?: [number, number, number]; classes?: number },
): Promise<{ spec: ModelSpec; adaptations: string[] }> {
  const models = await import('@lenet/models');
  const looksLikeFile = model.endsWith('.json') || model.includes('/');
  if (looksLikeFile) {
    if (!existsSync(model)) throw new BadInputError(`${model}: model spec file not found`);
    return { spec: await models.loadSpec(model), adaptations: [] };
  }
  if (!(models.presetNames() as string[]).includes(model)) {
    throw new UsageError(
      `unknown model '${model}'; presets: ${models.presetNames().join(', ')} (or a spec .json file)`,
    );
  }
  return models.getPreset(model, fit ?? {});
}
