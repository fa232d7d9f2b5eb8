#!/usr/bin/env bash
# Packs every public package, then
# 1. installs all the tarballs together into a fresh project outside the workspace with npm (no
#    workspace links), type-checks a small program and the README examples against them, and runs
#    the program (train, evaluate, export ONNX, run it with onnxruntime-node);
# 2. installs each package alone with plain npm, runs its README example and measures node_modules
#    (alone.mjs). The second step reuses the npm cache the first one filled.
# Usage: pnpm smoke:pack [case …]   (cases of alone.mjs: models, models-tf, onnx, train, …)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/lenet-pack-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$root"
pnpm turbo run build --output-logs=errors-only >/dev/null
mkdir -p "$work/tarballs" "$work/app"
for dir in packages/*/; do
  if [ "$(node -p "require('./${dir}package.json').private === true")" = "true" ]; then continue; fi
  (cd "$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
ls "$work/tarballs"
cp scripts/pack-smoke/smoke.ts "$work/app/"
node scripts/pack-smoke/readme-examples.mjs "$work/app/examples"
tf_version="$(node -p "require('./packages/models/package.json').peerDependencies['@tensorflow/tfjs-core']")"
ort_range="$(node -p "const m = require('./packages/onnx/package.json'); ({ ...m.dependencies, ...m.peerDependencies })['onnxruntime-node']")"
cd "$work/app"
cat > package.json <<'JSON'
{ "name": "lenet-pack-smoke", "private": true, "type": "module" }
JSON
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
  "strict": true, "skipLibCheck": true, "outDir": "out", "types": ["node"] },
  "files": ["smoke.ts"], "include": ["examples/*.ts"] }
JSON
# onnxruntime-node's install script would fetch CUDA parts; its CPU binary is in the package.
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
  "$work"/tarballs/*.tgz "onnxruntime-node@$ort_range" "@tensorflow/tfjs-core@$tf_version" \
  "@tensorflow/tfjs-layers@$tf_version" "@tensorflow/tfjs-backend-cpu@$tf_version" \
  typescript@^5.9.0 @types/node@^20.19.0 >/dev/null
npx tsc -p tsconfig.json
node out/smoke.js
cd "$root"
node scripts/pack-smoke/alone.mjs "$work" "$@"
