#!/usr/bin/env bash
# The project's test command (`npm test`): static checks, then every suite. The first run builds the
# control-plane binaries from Go modules (several minutes on 2 cores); later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

echo "== control-plane binaries"
bash sandbox/build-binaries.sh

echo "== CLI bundle"
node cli/bin/bundle.mjs

echo "== typecheck"
npx tsc --noEmit -p tsconfig.json

echo "== lint"
npx eslint --max-warnings=0 .

echo "== tests"
npx vitest run "$@"
