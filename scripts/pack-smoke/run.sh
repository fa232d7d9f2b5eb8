#!/usr/bin/env bash
# Packs every public package, installs the tarballs into a fresh project outside the workspace
# with npm (no workspace links), type-checks a small program against them and runs it.
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
cd "$work/app"
cat > package.json <<'JSON'
{ "name": "lenet-pack-smoke", "private": true, "type": "module" }
JSON
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
  "strict": true, "skipLibCheck": true, "outDir": "out", "types": ["node"] }, "files": ["smoke.ts"] }
JSON
# onnxruntime-node's install script would fetch CUDA parts; its CPU binary is in the package.
export ONNXRUNTIME_NODE_INSTALL=skip
npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
  "$work"/tarballs/*.tgz @tensorflow/tfjs@^4.22.0 typescript@^5.9.0 @types/node@^20.19.0 >/dev/null
npx tsc -p tsconfig.json
node out/smoke.js
