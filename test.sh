#!/usr/bin/env bash
# Runs the whole test suite: Java unit, property, conformance (SQLite and a real PostgreSQL the
# tests start themselves) and end-to-end tests against the real server and CLI.
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
echo "== all tests passed"
