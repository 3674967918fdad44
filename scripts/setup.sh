#!/usr/bin/env bash
# Everything ridectl needs on a fresh machine: Python venv with the package and its dev tools,
# and Java 17+ and Maven for the local Kafka broker (installed with apt-get when missing and
# allowed). Safe to run again: it only does what is missing.
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

# pip's output (setuptools prints a long warning block for every editable install) goes to a
# log that is shown only when the install fails.
stamp="$VENV/.ridectl-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  log="$VENV/pip-install.log"
  echo "setup: installing ridectl and its tools into $VENV (about a minute; log: $log)" >&2
  if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
    "$VENV/bin/python" -m pip install -q -e '.[dev]'; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: installing with pip failed; its output is above and in $log" >&2
    exit 1
  fi
  touch "$stamp"
fi

# Byte-compile the package, as a pip install of it would. An editable install compiles on
# first import, and never keeps the result where PYTHONDONTWRITEBYTECODE is set: then every
# command compiled some 40 modules again (about 0.07 s of CPU per `ridectl check`). Only
# files changed since are compiled again. Quiet, and never a reason to stop: a file that does
# not compile is reported by the command that imports it.
"$VENV/bin/python" -m compileall -q ridectl >/dev/null 2>&1 || true
