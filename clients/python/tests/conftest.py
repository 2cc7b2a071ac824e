"""Fixtures: a real Strata server (the jar Maven built), on 127.0.0.1, a free port, a temp data dir."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
JAR = Path(os.environ.get("STRATA_JAR", ROOT / "strata-cli" / "target" / "strata.jar"))


def java_bin() -> str:
    jh = os.environ.get("JAVA_HOME")
    if not jh or not Path(jh, "bin", "java").exists():
        jh = subprocess.run(["bash", "-c", f". '{ROOT}/scripts/env.sh' >/dev/null && echo $JAVA_HOME"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return str(Path(jh, "bin", "java"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StrataServer:
    def __init__(self, data: Path, port: int = 0):
        if not JAR.exists():
            pytest.fail(f"{JAR} is missing: build it first (mvn -DskipTests package)")
        self.data = data
        self.port = port
        self.proc = None
        self.url = None
        self.start()

    def start(self):
        self.data.mkdir(parents=True, exist_ok=True)
        self.log = open(self.data.parent / (self.data.name + ".log"), "a")
        seen = self.log.tell()
        self.proc = subprocess.Popen([java_bin(), "-Xmx512m", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                                      "-jar", str(JAR), "serve", "--port", str(self.port), "--data", str(self.data)],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        logname = self.log.name
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("strata serve exited:\n" + Path(logname).read_text()[-3000:])
            m = re.findall(r"listening on (http://127\.0\.0\.1:(\d+))", Path(logname).read_text()[seen:])
            if m:
                self.url, port = m[-1]
                self.port = int(port)
                break
            time.sleep(0.1)
        else:
            self.kill()
            raise RuntimeError("strata serve did not start")
        self.token = (self.data / "admin.token").read_text().strip()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        if not self.log.closed:
            self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if not self.log.closed:
            self.log.close()

    def restart(self):
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def tmp_root():
    d = Path(tempfile.mkdtemp(prefix="strata-pytest-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def server(tmp_root):
    s = StrataServer(tmp_root / "data")
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    # No developer config, token or cache leaks into a test.
    monkeypatch.setenv("STRATA_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("STRATA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("STRATA_TOKEN", raising=False)
    monkeypatch.delenv("STRATA_URL", raising=False)


@pytest.fixture
def client(server):
    import strata
    c = strata.Client(server.url, server.token, retry=strata.RetryPolicy(attempts=3, base=0.05))
    yield c
    c.close()


@pytest.fixture
def repo():
    return f"lab/t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def ckpt(client):
    import strata
    cp = strata.Checkpointer(client, max_in_flight=2)
    yield cp
    cp.close()
