#!/usr/bin/env node
// Codemod of issue 13 ("lean packages"). Run from anywhere: `node scripts/codemods/tfjs-core-layers.mjs`
// (`--dry-run` lists what would change and writes nothing). Deterministic and idempotent: a second
// run finds nothing to do. It rewrites, in the TypeScript and JavaScript sources of the workspace:
//
// 1. Every import of the umbrella `@tensorflow/tfjs` (static, `import type`, `export … from`,
//    `import('…')` calls and `import('…').T` types) to the package's own `src/tfjs.ts`, which
//    re-exports tfjs-core and tfjs-layers and registers the cpu backend, as the umbrella did in
//    Node. Sources under `src/` import `<rel>/tfjs.js`; scripts beside `src/` import the built
//    `<rel>/dist/tfjs.js`, as they already import `../dist/index.js`. A facade keeps every `tf.xyz`
//    call site unchanged (the umbrella's `tf` mixed core and layers names in one namespace) and
//    puts the choice of TensorFlow.js packages in one file per package. The facade is written when
//    missing and left alone when present.
// 2. The names that moved to `@lenet/models/tf` (the builder from `@lenet/models`; model
//    save/load from `@lenet/train`), in named imports and in `const { … } = await import('…')`.
//    Member accesses on a namespace (`models.buildModel`) are reported, not rewritten.
//
// Then `biome check --write` runs on the changed files (import order, format). package.json files
// are edited by hand; the script warns about any that still name `@tensorflow/tfjs`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dryRun = process.argv.includes('--dry-run');
const UMBRELLA = '@tensorflow/tfjs';
const FACADE = 'tfjs';
const MODELS_TF = '@lenet/models/tf';
/** Names that left a package's root entry for `@lenet/models/tf`, by the package they left. */
const MOVED = {
  '@lenet/models': new Set(['BuildOptions', 'buildModel', 'followingActivation']),
  '@lenet/train': new Set([
    'loadModel',
    'MODEL_JSON',
    'ModelFileError',
    'ModelMetadata',
    'readModelMetadata',
    'SavedModelInfo',
    'SaveModelOptions',
    'saveModel',
    'WEIGHTS_BIN',
  ]),
};

const FACADE_SOURCE = `/**
 * TensorFlow.js as this package uses it: tfjs-core and tfjs-layers, the part of the umbrella
 * \`@tensorflow/tfjs\` that runs in Node (without its browser backend, converter and data packages),
 * and the cpu backend registered as the umbrella registered it, so a tensor made before any other
 * backend is chosen has one. Written by scripts/codemods/tfjs-core-layers.mjs.
 */
import '@tensorflow/tfjs-backend-cpu';

export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
`;

/** The workspace's tracked (and new, not ignored) sources this codemod reads. */
function sourceFiles() {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .split('\0')
    .filter((f) => /\.(ts|mts|cts|mjs|js)$/.test(f) && !f.endsWith('.d.ts'))
    .filter((f) => /^(packages\/[^/]+\/|benchmarks\/|scripts\/)/.test(f))
    .filter((f) => !f.startsWith('scripts/codemods/') && existsSync(join(root, f)))
    .sort();
}

/** The folder of the workspace package a file belongs to (`packages/x`, `benchmarks`), or null. */
function packageDirOf(file) {
  const m = /^(packages\/[^/]+|benchmarks)\//.exec(file);
  return m ? m[1] : null;
}

/** The specifier of the package's facade as seen from `file`. */
function facadeSpecifier(file) {
  const pkg = packageDirOf(file);
  if (pkg === null) throw new Error(`${file}: imports ${UMBRELLA} outside a workspace package`);
  const inSrc = file.startsWith(`${pkg}/src/`);
  const target = join(pkg, inSrc ? 'src' : 'dist', `${FACADE}.js`);
  let rel = relative(dirname(file), target).split(sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return rel;
}

function scriptKind(file) {
  if (/\.(mjs|js)$/.test(file)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

const isImportCall = (node) =>
  ts.isCallExpression(node) &&
  node.expression.kind === ts.SyntaxKind.ImportKeyword &&
  node.arguments.length === 1 &&
  ts.isStringLiteralLike(node.arguments[0]);

/** The name a binding element imports (`{ a: b }` → `a`). */
const importedName = (el) => (el.propertyName ?? el.name).getText();

/**
 * The edits of one file as `{ start, end, text }` ranges of its text (none overlapping), whether
 * one of them points at the facade, and the namespace member accesses left for a hand edit.
 */
function planEdits(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKind(file));
  const edits = [];
  const warnings = [];
  const namespaces = new Map(); // local name → package, for `models.buildModel` warnings
  let usesFacade = false;
  const replaceLiteral = (node, value) => {
    const quote = text[node.getStart(source)];
    edits.push({ start: node.getStart(source), end: node.getEnd(), text: `${quote}${value}${quote}` });
  };
  const toFacade = (node) => {
    replaceLiteral(node, facadeSpecifier(file));
    usesFacade = true;
  };
  /** Splits `names` of `statement` off into a declaration of their own, `make(names)`, after it. */
  const splitOff = (statement, make) => {
    const at = statement.getEnd();
    const indent = /[ \t]*$/.exec(text.slice(0, statement.getStart(source)))[0];
    edits.push({ start: at, end: at, text: `\n${indent}${make}` });
  };

  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const spec = node.moduleSpecifier;
      if (ts.isStringLiteralLike(spec) && spec.text === UMBRELLA) toFacade(spec);
      // import { buildModel, getPreset } from '@lenet/models';
      const moved = ts.isStringLiteralLike(spec) ? MOVED[spec.text] : undefined;
      const clause = ts.isImportDeclaration(node) ? node.importClause : undefined;
      const bindings = clause?.namedBindings;
      if (moved && bindings && ts.isNamespaceImport(bindings)) namespaces.set(bindings.name.text, spec.text);
      if (moved && bindings && ts.isNamedImports(bindings)) {
        const going = bindings.elements.filter((e) => moved.has(importedName(e)));
        const staying = bindings.elements.filter((e) => !moved.has(importedName(e)));
        if (going.length > 0 && staying.length === 0 && !clause.name) {
          replaceLiteral(spec, MODELS_TF);
        } else if (going.length > 0) {
          const list = (els) => `{ ${els.map((e) => e.getText(source)).join(', ')} }`;
          edits.push({ start: bindings.getStart(source), end: bindings.getEnd(), text: list(staying) });
          const typeKw = clause.isTypeOnly ? 'type ' : '';
          splitOff(node, `import ${typeKw}${list(going)} from '${MODELS_TF}';`);
        }
      }
    }
    if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteralLike(arg.literal) && arg.literal.text === UMBRELLA) {
        toFacade(arg.literal);
      }
    }
    if (isImportCall(node) && node.arguments[0].text === UMBRELLA) toFacade(node.arguments[0]);
    // const { loadModel, TrainError } = await import('@lenet/train');  /  const models = await import(…);
    if (ts.isVariableDeclaration(node) && node.initializer) {
      const init = ts.isAwaitExpression(node.initializer) ? node.initializer.expression : node.initializer;
      const from = isImportCall(init) ? init.arguments[0].text : undefined;
      const moved = from ? MOVED[from] : undefined;
      if (moved && ts.isIdentifier(node.name)) namespaces.set(node.name.text, from);
      if (moved && ts.isObjectBindingPattern(node.name)) {
        const going = node.name.elements.filter((e) => moved.has(importedName(e)));
        const staying = node.name.elements.filter((e) => !moved.has(importedName(e)));
        if (going.length > 0 && staying.length === 0) {
          replaceLiteral(init.arguments[0], MODELS_TF);
        } else if (going.length > 0) {
          const list = (els) => `{ ${els.map((e) => e.getText(source)).join(', ')} }`;
          edits.push({ start: node.name.getStart(source), end: node.name.getEnd(), text: list(staying) });
          const declList = node.parent;
          const kw =
            declList.flags & ts.NodeFlags.Const ? 'const' : declList.flags & ts.NodeFlags.Let ? 'let' : 'var';
          const awaitKw = ts.isAwaitExpression(node.initializer) ? 'await ' : '';
          splitOff(declList.parent, `${kw} ${list(going)} = ${awaitKw}import('${MODELS_TF}');`);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  for (const [local, from] of namespaces) {
    for (const name of MOVED[from]) {
      for (const m of text.matchAll(new RegExp(`\\b${local}\\.${name}\\b`, 'g'))) {
        const { line } = source.getLineAndCharacterOfPosition(m.index);
        warnings.push(`${file}:${line + 1}: ${local}.${name} is now in ${MODELS_TF}; edit by hand`);
      }
    }
  }
  return { edits, usesFacade, warnings };
}

function applyEdits(text, edits) {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

const changed = [];
const warnings = [];
const needFacade = new Set();
for (const file of sourceFiles()) {
  const path = join(root, file);
  const text = readFileSync(path, 'utf8');
  const pkg = packageDirOf(file);
  if (pkg !== null && file === `${pkg}/src/${FACADE}.ts`) continue;
  const { edits, usesFacade, warnings: w } = planEdits(file, text);
  warnings.push(...w);
  if (usesFacade) needFacade.add(pkg);
  const next = applyEdits(text, edits);
  if (next === text) continue;
  changed.push(file);
  if (!dryRun) writeFileSync(path, next);
}
for (const pkg of [...needFacade].sort()) {
  const file = `${pkg}/src/${FACADE}.ts`;
  if (existsSync(join(root, file))) continue;
  changed.push(file);
  if (!dryRun) writeFileSync(join(root, file), FACADE_SOURCE);
}

for (const manifest of ['benchmarks/package.json', ...listPackages().map((p) => `${p}/package.json`)]) {
  const json = JSON.parse(readFileSync(join(root, manifest), 'utf8'));
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    if (json[field]?.[UMBRELLA]) warnings.push(`${manifest}: ${field} still names ${UMBRELLA}; edit by hand`);
  }
}

if (changed.length > 0 && !dryRun) {
  const biome = join(root, 'node_modules', '.bin', 'biome');
  execFileSync(biome, ['check', '--write', '--no-errors-on-unmatched', ...changed], {
    cwd: root,
    stdio: 'inherit',
  });
}
for (const f of changed) console.log(`${dryRun ? 'would change' : 'changed'} ${f}`);
for (const w of warnings) console.warn(`warning: ${w}`);
console.log(`${changed.length} file(s) ${dryRun ? 'to change' : 'changed'}, ${warnings.length} warning(s)`);

function listPackages() {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z', 'packages'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => /^packages\/[^/]+\/package\.json$/.test(f))
    .map((f) => dirname(f))
    .sort();
}
