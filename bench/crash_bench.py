#!/usr/bin/env python3
"""Nightly-style crash loop: many kill -9 rounds during push, gc, scrub and repair.

Runs the crash test classes of strata-cli through Maven with STRATA_CRASH_ROUNDS set (default 100
rounds per operation): CrashTest (kill during push) and MaintenanceCrashTest (kill during
`gc --full`, during a scrub of damaged 4+2 shards, and during `repair --dir` of a deleted directory).
After every kill the tests restart the server on the same data and require: fsck finds no live chunk
missing or corrupt, every visible commit pulls bit-exact, the retried operation completes.

Each round costs a server start or two (a few seconds): 100 rounds take roughly 30-60 minutes.
Prints a JSON summary on stdout (per test class: tests, failures, errors, seconds, and the lines the
tests print about how many kills landed mid-operation); exit status 1 if any test failed.

Usage: bench/crash_bench.py [--rounds 100] [--tests CrashTest,MaintenanceCrashTest]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--tests", default="CrashTest,MaintenanceCrashTest")
    a = ap.parse_args()
    # The build needs JDK 25 (scripts/env.sh finds it), whatever `java` on the PATH is.
    jh = subprocess.run(["bash", "-c", ". scripts/env.sh >/dev/null && echo $JAVA_HOME"], cwd=ROOT,
                        capture_output=True, text=True, check=True).stdout.strip()
    env = dict(os.environ, STRATA_CRASH_ROUNDS=str(a.rounds), JAVA_HOME=jh)
    for name in a.tests.split(","):  # never report a previous run's results
        for f in glob.glob(os.path.join(ROOT, "strata-cli/target/surefire-reports/*%s*" % name)):
            os.remove(f)
    cmd = ["mvn", "-q", "-o", "verify", "-pl", "strata-cli", "-am", "-Dtest=" + a.tests,
           "-Dsurefire.failIfNoSpecifiedTests=false"]
    print("running: STRATA_CRASH_ROUNDS=%d %s" % (a.rounds, " ".join(cmd)), file=sys.stderr)
    t0 = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.time() - t0
    kills = [l.strip() for l in p.stdout.splitlines() if re.search(r"kills interrupted", l)]
    classes = {}
    for name in a.tests.split(","):
        for f in glob.glob(os.path.join(ROOT, "strata-cli/target/surefire-reports/TEST-dev.strata.cli.%s.xml" % name)):
            head = open(f, encoding="utf-8").read(4000)
            m = re.search(r'<testsuite [^>]*', head)
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(0))) if m else {}
            classes[name] = {k: attrs.get(k) for k in ("tests", "failures", "errors", "time")}
    result = {"rounds_per_operation": a.rounds, "exit": p.returncode, "seconds": round(elapsed, 1),
              "classes": classes, "kills": kills}
    print(json.dumps(result, indent=2))
    if p.returncode != 0:
        print(p.stdout[-20000:], file=sys.stderr)
    return 0 if p.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
