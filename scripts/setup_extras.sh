#!/usr/bin/env bash
# Tools the browser and JupyterHub tests need beyond the Python environment:
#   - Chromium (Debian's package; Playwright drives it, no browser download);
#   - configurable-http-proxy (npm), JupyterHub's proxy, installed in .node/ of this repository.
# `./course test` runs this before pytest. Idempotent: it only installs what is missing,
# and costs well under a second when everything is there. Needs root (or sudo) on Debian/Ubuntu
# for the apt part; elsewhere install chromium and nodejs yourself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CHP_VERSION_NODE20="5.3.0"   # needs node >= 20
CHP_VERSION_OLD_NODE="4.6.3" # Debian 12's node 18

say() { echo "[setup_extras] $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_install() {  # packages...
  if ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; }; then
    echo "error: please install: $*" >&2
    exit 1
  fi
  if [ ! -f /tmp/.course-apt-updated ]; then
    $SUDO apt-get update -qq >/dev/null && touch /tmp/.course-apt-updated
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Chromium for Playwright (tests/test_browser_jupyterlab.py, tests/test_jupyterhub.py).
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  apt_install chromium fonts-liberation
fi

# 2. configurable-http-proxy for JupyterHub (tests/test_jupyterhub.py).
CHP="$ROOT/.node/node_modules/.bin/configurable-http-proxy"
if [ ! -x "$CHP" ]; then
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  version="$CHP_VERSION_NODE20"
  [ "$node_major" -ge 20 ] || version="$CHP_VERSION_OLD_NODE"
  say "npm install configurable-http-proxy@$version into .node/"
  mkdir -p "$ROOT/.node"
  npm install --prefix "$ROOT/.node" --save-exact --no-audit --no-fund --loglevel=error \
      "configurable-http-proxy@$version" >/dev/null
  "$CHP" --version >/dev/null
fi

# ---------------------------------------------------------------------------------------------
# 3. PostgreSQL server programs (tests/test_postgres_gradebook.py starts a throwaway server on
#    127.0.0.1; docs/scale.md). Debian's package; its initdb/pg_ctl live in
#    /usr/lib/postgresql/<version>/bin. Self-contained block, idempotent: nothing to do when
#    an initdb is already there.
# ---------------------------------------------------------------------------------------------
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  pg_sudo=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then pg_sudo="sudo"; fi
  if ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" != 0 ] && [ -z "$pg_sudo" ]; }; then
    echo "error: please install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql)" >&2
    exit 1
  fi
  if [ ! -f /tmp/.course-apt-updated ]; then
    $pg_sudo apt-get update -qq >/dev/null && touch /tmp/.course-apt-updated
  fi
  echo "[setup_extras] apt-get install postgresql" >&2
  DEBIAN_FRONTEND=noninteractive $pg_sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null
fi
# ---------------------------------------------------------------------------------------------
