#!/usr/bin/env bash
# Everything ridectl needs on a fresh machine: a Python venv with the package and its dev tools
# at the versions in uv.lock, and Java 17+ and Maven for the local Kafka broker (installed with
# apt-get when missing and allowed). Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

need_apt=()
if ! command -v java >/dev/null 2>&1; then need_apt+=(openjdk-17-jre-headless); fi
if ! command -v mvn >/dev/null 2>&1; then need_apt+=(maven); fi
# The TLS tests make their certificates with the openssl command.
if ! command -v openssl >/dev/null 2>&1; then need_apt+=(openssl); fi
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then need_apt+=(python3-venv); fi
if ((${#need_apt[@]})); then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install ${need_apt[*]} (or use Docker: docker compose up -d)" >&2
    exit 2
  fi
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup: ridectl needs Python 3.11+, this is {sys.version.split()[0]}")
PY

# The venv holds exactly the versions in uv.lock (the dev extra included; ridectl itself is
# installed editable, so tests and commands run the work tree), synced by uv. uv is installed
# into the venv itself by the venv's own pip: no tools directory beside it, and nothing
# installed for the user or the system (whose pip may refuse, as an externally managed
# Python). uv is one of the dev tools in uv.lock, so the exact sync that removes whatever
# uv.lock does not list keeps it, at the version bootstrapped here; pip, being part of the
# venv as `python -m venv` made it, is left alone by uv too.
# Each tool's output (setuptools prints a long warning block for every editable build) goes
# to a log that is shown only when that step fails.
logged() {
  local tool=$1 log=$2
  shift 2
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: installing with $tool failed; its output is above and in $log" >&2
    exit 1
  fi
}
stamp="$VENV/.ridectl-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ uv.lock -nt "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  echo "setup: installing ridectl and its tools into $VENV with uv (logs: $VENV/*.log)" >&2
  if [ ! -x "$VENV/bin/uv" ]; then
    uv_version=$("$PYTHON" -c '
import tomllib
with open("uv.lock", "rb") as f:
    print(*[p["version"] for p in tomllib.load(f)["package"] if p["name"] == "uv"])
')
    if [ -z "$uv_version" ]; then
      echo "setup: uv.lock does not pin uv (it belongs in the dev extra)" >&2
      exit 1
    fi
    logged pip "$VENV/pip-install.log" "$VENV/bin/python" -m pip install -q "uv==$uv_version"
  fi
  # --locked: stop, rather than resolve again, when uv.lock no longer matches pyproject.toml.
  # --compile-bytecode: as pip did, so no import compiles a dependency on first use.
  logged uv "$VENV/uv-sync.log" env UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never \
    "$VENV/bin/python" -m uv sync --locked --extra dev --compile-bytecode
  touch "$stamp"
fi

# Byte-compile the package, as a pip install of it would. An editable install compiles on
# first import, and never keeps the result where PYTHONDONTWRITEBYTECODE is set: then every
# command compiled some 40 modules again (about 0.07 s of CPU per `ridectl check`). Only
# files changed since are compiled again. Quiet, and never a reason to stop: a file that does
# not compile is reported by the command that imports it.
"$VENV/bin/python" -m compileall -q ridectl >/dev/null 2>&1 || true
