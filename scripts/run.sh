#!/usr/bin/env bash
# Entry point behind `npm start`, `npm test` and `npm run bench`: makes sure Node >= 22.12 and the
# project's packages are present (a fresh clone on a Node 20 machine has neither), then runs the task.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/node22.sh
source scripts/node22.sh

# The Electron binary cannot be downloaded on machines without internet; electron-vite build and the
# web host do not need it. Users with a network run `npx electron` which fetches it on first start.
export ELECTRON_SKIP_BINARY_DOWNLOAD="${ELECTRON_SKIP_BINARY_DOWNLOAD:-1}"

# The stamp holds the sha256 of the package-lock.json it was installed from: a checkout, a merge or
# a second work tree changes the lock file's time but not its contents, and must not reinstall.
stamp="node_modules/.flow-studio-installed"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ]; then
  echo "flow-studio: installing packages (npm ci) with Node $(node --version)" >&2
  npm ci --no-audit --no-fund >&2
  echo "$lock_sum" > "$stamp"
elif [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  # An existing tree is updated in place: `npm ci` would delete node_modules under running tools.
  echo "flow-studio: package-lock.json changed; updating packages (npm install)" >&2
  npm install --no-audit --no-fund >&2
  echo "$lock_sum" > "$stamp"
fi

task="${1:-}"
shift || true
case "$task" in
  test)
    echo "== type check (every tsconfig: npm run typecheck)" >&2
    npm run -s typecheck
    echo "== lint (ESLint with the layer rules, Prettier: npm run lint)" >&2
    npm run -s lint
    echo "== unit and integration tests (vitest, tfjs wasm backend)" >&2
    npx vitest run "$@"
    # The PyTorch engine's own tests, with the interpreter the studio would use (main/runtime/python.ts):
    # FLOW_STUDIO_PYTHON, else the first python3 that has torch, numpy and pytest.
    if [ $# -eq 0 ]; then
      py=""
      for c in ${FLOW_STUDIO_PYTHON:-python3 /usr/bin/python3 python}; do
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import torch, numpy, pytest' >/dev/null 2>&1; then py="$c"; break; fi
      done
      if [ -n "$py" ]; then
        echo "== PyTorch engine tests (pytest, $py)" >&2
        "$py" -m pytest -q test/python
      else
        echo "== PyTorch engine tests SKIPPED: no python3 with torch, numpy and pytest (apt-get install python3-torch python3-pytest; .ci/run does)" >&2
      fi
    fi
    # End-to-end tests drive the built renderer in Debian's Chromium against the web host; with
    # arguments (a vitest filter) only the unit tests run.
    if [ $# -eq 0 ] && [ -f playwright.config.ts ]; then
      if command -v chromium >/dev/null 2>&1; then
        echo "== end-to-end tests (Playwright, Chromium, web host)" >&2
        npx playwright test
      else
        echo "== end-to-end tests SKIPPED: no chromium on PATH (apt-get install chromium; .ci/run does)" >&2
      fi
    fi
    ;;
  start)
    exec node scripts/start.mjs "$@"
    ;;
  dist)
    # Installers for this platform (electron-builder.yml: AppImage + deb, dmg, nsis); electron-builder
    # downloads the Electron binary for the target, so this needs a network.
    npx electron-vite build
    exec npx electron-builder "$@"
    ;;
  bench)
    # One JSON document on stdout; bench/results/latest.json unless --out FILE (see bench/run.ts).
    exec node --experimental-transform-types --disable-warning=ExperimentalWarning --import ./scripts/ts-hooks.mjs bench/run.ts "$@"
    ;;
  *)
    echo "usage: scripts/run.sh test|start|dist|bench [args]" >&2
    exit 2
    ;;
esac
