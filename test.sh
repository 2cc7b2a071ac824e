#!/usr/bin/env bash
# Runs the whole test suite: Java unit, property, conformance (SQLite and a real PostgreSQL the
# tests start themselves) and end-to-end tests against the real server and CLI, then the Python SDK's
# pytest suite against the jar that build produced.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
. scripts/env.sh

# The catalog conformance suite runs against a real PostgreSQL server; never skipped.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  strata_apt_install postgresql || { echo "test.sh: PostgreSQL is required for the catalog tests" >&2; exit 1; }
fi

echo "== Java: build and test (JDK: $JAVA_HOME)"
mvn -B -ntp verify

# Python SDK: a venv at clients/python/.venv (git-ignored), rebuilt only when the pinned
# requirements or the package metadata change; torch comes from PyPI (pip cache: ~/.cache/pip).
echo "== Python SDK: venv and pytest"
PYDIR=clients/python
VENV=$PYDIR/.venv
PYTHON=""
for p in python3.11 python3.12 python3.13 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PYTHON=$(command -v "$p"); break
  fi
done
if [ -z "$PYTHON" ]; then
  strata_apt_install python3 python3-venv || true
  PYTHON=$(command -v python3) || { echo "test.sh: Python 3.11+ is required for the SDK tests" >&2; exit 1; }
fi
REQ_HASH=$(cat "$PYDIR/requirements-test.txt" "$PYDIR/pyproject.toml" | sha256sum | cut -c1-64)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.strata-req-hash" 2>/dev/null)" != "$REQ_HASH" ]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$PYDIR/requirements-test.txt"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$PYDIR"
  echo "$REQ_HASH" > "$VENV/.strata-req-hash"
fi
STRATA_JAR="$ROOT/strata-cli/target/strata.jar" "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$PYDIR/tests"
echo "== all tests passed"
