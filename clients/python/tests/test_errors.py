import threading
import time

import pytest
import torch

import strata
from conftest import StrataServer, free_port


def test_wrong_token(server, repo):
    c = strata.Client(server.url, "strata_0123456789abcdef_" + "A" * 43)
    with pytest.raises(strata.AuthenticationError, match="401"):
        c.whoami()
    cp = strata.Checkpointer(c)
    h = cp.save({"w": torch.ones(3)}, f"{repo}@main")
    with pytest.raises(strata.AuthenticationError):
        h.result()
    cp.close()


def test_missing_revision_and_repo(client, ckpt, repo):
    with pytest.raises(strata.NotFoundError, match="not found"):
        strata.load_state_dict(f"{repo}@main", client=client)
    ckpt.save({"w": torch.ones(3)}, f"{repo}@main").result()
    with pytest.raises(strata.NotFoundError) as e:
        strata.load_state_dict(f"{repo}@no-such-branch", client=client)
    assert e.value.status == 404 and "no-such-branch" in str(e.value)


def test_server_unreachable(tmp_path):
    c = strata.Client(f"http://127.0.0.1:{free_port()}", "t", retry=strata.RetryPolicy(attempts=2, base=0.01))
    with pytest.raises(strata.StrataConnectionError, match="unreachable after 2"):
        c.whoami()


def test_background_error_surfaces_on_handle_and_next_save(server, repo):
    c = strata.Client(server.url, "strata_0123456789abcdef_" + "B" * 43)
    cp = strata.Checkpointer(c)
    h = cp.save({"w": torch.ones(3)}, f"{repo}@main")  # fails in the background; nobody collects it
    deadline = time.time() + 60
    while not h.done() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)  # the done-callback that records the error runs right after
    with pytest.raises(strata.StrataError, match="earlier background save failed"):
        cp.save({"w": torch.ones(3)}, f"{repo}@main")
    cp.close()


def test_server_down_mid_save_nothing_half_committed(tmp_path, repo):
    srv = StrataServer(tmp_path / "data", port=free_port())
    try:
        c = strata.Client(srv.url, srv.token, retry=strata.RetryPolicy(attempts=2, base=0.05))
        cp = strata.Checkpointer(c)
        state = {f"t{i}": torch.randn(1 << 18) for i in range(16)}
        first = cp.save(state, f"{repo}@main", step=1).result()
        # the server dies after the chunks went in, right before the commit
        real = c.create_commit

        def dying_commit(*a, **kw):
            srv.kill()
            return real(*a, **kw)

        c.create_commit = dying_commit
        state["t1"] += 1
        h = cp.save(state, f"{repo}@main", step=2)
        with pytest.raises(strata.StrataConnectionError):
            h.result(timeout=120)
        c.create_commit = real
        srv.start()  # same data dir, same port
        head = c.commit(repo, "main")
        assert head["id"] == first.commit and head["step"] == 1  # step 2 never appeared
        back = strata.load_state_dict(f"{repo}@main", client=c, cache=False)
        assert not torch.equal(back["t1"], state["t1"])
        # the same checkpointer recovers: the next save works and builds on the real head
        res = cp.save(state, f"{repo}@main", step=3).result()
        assert c.commit(repo, "main")["parents"] == [first.commit] and res.commit
        cp.close()
    finally:
        srv.stop()


def test_in_flight_bound(client, repo):
    """The third save waits until one of two in flight is committed."""
    cp = strata.Checkpointer(client, max_in_flight=2)
    gate = threading.Event()
    real = client.create_commit

    def slow_commit(*a, **kw):
        gate.wait(30)
        return real(*a, **kw)

    client.create_commit = slow_commit
    try:
        h1 = cp.save({"w": torch.ones(4)}, f"{repo}@main", step=1)
        h2 = cp.save({"w": torch.ones(4) * 2}, f"{repo}@main", step=2)
        done3 = threading.Event()
        t = threading.Thread(target=lambda: (cp.save({"w": torch.ones(4) * 3}, f"{repo}@main", step=3), done3.set()))
        t.start()
        assert not done3.wait(1.0)  # blocked: two saves in flight
        gate.set()
        assert done3.wait(30)
        t.join()
        cp.wait()
        assert h1.result().step == 1 and h2.result().step == 2
        assert client.commit(repo, "main")["step"] == 3
    finally:
        client.create_commit = real
        cp.close()


def test_credentials_from_env_and_cli_config(server, monkeypatch, tmp_path):
    monkeypatch.setenv("STRATA_URL", server.url)
    monkeypatch.setenv("STRATA_TOKEN", server.token)
    assert strata.Client().whoami()["user"] == "admin"
    monkeypatch.delenv("STRATA_URL")
    monkeypatch.delenv("STRATA_TOKEN")
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.properties").write_text("#written by strata login\nurl=" + server.url.replace(":", "\\:")
                                           + "\ntoken=" + server.token + "\n")
    monkeypatch.setenv("STRATA_CONFIG_DIR", str(cfg))
    assert strata.Client().whoami()["user"] == "admin"


def test_metadata_helpers(client, ckpt, repo):
    for step, acc in ((100, 0.5), (200, 0.8), (300, 0.7)):
        ckpt.save({"w": torch.full((4,), float(step))}, f"{repo}@run-a", step=step, metrics={"val/acc": acc},
                  config={"lr": 0.1}, datasets=["radiology-v3"])
    ckpt.wait()
    assert strata.at_step(f"{repo}@run-a", 200, client=client)["step"] == 200
    assert strata.best(f"{repo}@run-a", "val/acc", client=client)["step"] == 200
    assert strata.latest(f"{repo}@run-a", client=client)["step"] == 300
    assert "run-a" in strata.branches(repo, client=client)
    best = strata.best(f"{repo}@run-a", "val/acc", client=client)
    back = strata.load_state_dict(f"{repo}@{best['id']}", client=client)
    assert back["w"][0].item() == 200.0
    assert best["metadata"]["config"] == {"lr": 0.1} and best["metadata"]["datasets"] == ["radiology-v3"]
    # lineage: a fine-tune links to its base
    ckpt.save({"w": torch.zeros(4)}, f"{repo}-ft@main", lineage=[{"relation": "finetune_of", "repo": repo,
                                                                 "rev": best["id"]}]).result()
    lin = strata.lineage(f"{repo}-ft@main", client=client)
    assert lin["derives_from"] and lin["derives_from"][0]["target_repo"] == repo


def test_lost_commit_answer_is_recognised(client, ckpt, repo):
    """The commit went through but its answer was lost: the save still succeeds, once."""
    real = client.create_commit

    def answer_lost(*a, **kw):
        real(*a, **kw)
        raise strata.StrataConnectionError("connection reset while reading the answer")

    client.create_commit = answer_lost
    try:
        res = ckpt.save({"w": torch.arange(10)}, f"{repo}@main", step=5).result()
    finally:
        client.create_commit = real
    head = client.commit(repo, "main")
    assert res.commit == head["id"] and head["step"] == 5 and len(client.log(repo, "main")) == 1


def test_progress_bar_only_on_a_terminal(monkeypatch):
    from strata.checkpoint import _progress
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert _progress(10 << 30, "x", None) is None
    bar = _progress(10, "x", True)
    assert bar is not None
    bar.close()
