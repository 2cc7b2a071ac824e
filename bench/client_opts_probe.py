#!/usr/bin/env python3
"""Probe: client JVM options (AppCDS, jdk.httpclient.bufsize) on no-op, pull and re-push of one 256 MiB
checkpoint against one server; best of 3 (wall s, client CPU s). Run from the repository root."""
import sys, os, json, time
sys.path.insert(0, 'bench')
from benchlib import *
src = 'bench/out/series-256/ckpt-000'
work = 'bench/out/exp'; rmtree(work); os.makedirs(work)
srv = Server(os.path.abspath(work + '/data'))
def run(opts, args, sync=True):
    env = dict(os.environ, STRATA_NO_PROGRESS='1', STRATA_JAVA_OPTS=opts)
    return timed([STRATA, *args, '--url', srv.url, '--token-file', srv.token_file] if args[0] != '--version' else [STRATA, *args],
                 env=env, sync=sync)
try:
    run('-Xmx1g', ['repo', 'create', 'e/x'])
    run('-Xmx1g', ['push', src, 'e/x@main'])
    cds = '-Xmx1g -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile=/tmp/strata-cds.jsa'
    run(cds, ['--version']); run(cds, ['pull', 'e/x@main', '-o', work + '/warm'])  # create archive
    for name, opts in [('default', '-Xmx1g'), ('appcds', cds), ('bufsize1m', '-Xmx1g -Djdk.httpclient.bufsize=1048576')]:
        nv, pl, pk = [], [], []
        for r in range(3):
            nv.append(run(opts, ['--version'], sync=False)[0])
            rmtree(work + '/p'); os.sync()
            t, _, cpu = run(opts, ['pull', 'e/x@main', '-o', work + '/p']); pl.append((t, cpu))
            t, _, cpu = run(opts, ['push', src, f'e/x@b{name}{r}']); pk.append((t, cpu))
        print(name, 'noop', round(min(nv), 3), 'pull(s,cpu)', min(pl), 'push_known(s,cpu)', min(pk), flush=True)
finally:
    srv.stop()
