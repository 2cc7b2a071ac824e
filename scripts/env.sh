# Sourced by ./strata, ./test.sh and bench scripts: finds (or installs) what the build needs.
# Exports JAVA_HOME (a JDK 25+) and MVN. Safe to source repeatedly.

strata_find_jdk() {
  local candidates=()
  [ -n "${STRATA_JAVA_HOME:-}" ] && candidates+=("$STRATA_JAVA_HOME")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for d in /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/*-2[5-9]* /usr/lib/jvm/*; do
    [ -d "$d" ] && candidates+=("$d")
  done
  for d in "${candidates[@]}"; do
    [ -x "$d/bin/javac" ] || continue
    local v
    # The JDK's release file names its version; reading it is much cheaper than starting a JVM.
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$d/release" 2>/dev/null)
    [ -n "$v" ] || v=$("$d/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

if ! JAVA_HOME=$(strata_find_jdk); then
  echo "strata: no JDK 25 or newer found under /usr/lib/jvm (set STRATA_JAVA_HOME to one)." >&2
  echo "        Strata targets Java 25 (Temurin); install one, e.g. the temurin-25-jdk package." >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"

strata_apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "strata: installing $* (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2 || return 1
  else
    echo "strata: please install: $*" >&2
    return 1
  fi
}

if ! command -v mvn >/dev/null; then
  strata_apt_install maven || exit 1
fi
MVN="mvn -B -q"
export MVN
