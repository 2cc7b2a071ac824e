"""Metadata helpers: find checkpoints by step, best metric or recency; branches; lineage."""
from __future__ import annotations

from .client import Client, parse_spec
from .errors import NotFoundError


def _c(client):
    return client or Client()


def find(repo: str, *, client: Client | None = None, **query) -> list[dict]:
    """Commits matching ``branch=``, ``step=``, ``latest=``, ``best=``, ``minimize=``, ``derived_from=``, ``limit=``."""
    return _c(client).find(repo, **query)


def _one(repo, rows, what):
    if not rows:
        raise NotFoundError(f"{repo}: no commit {what}", status=404, code="not_found")
    return rows[0]


def at_step(spec: str, step: int, *, client: Client | None = None) -> dict:
    """The commit of branch ``owner/name@branch`` (any branch without ``@``) at training step ``step``."""
    repo, branch = parse_spec(spec, default_rev=None)
    return _one(repo, _c(client).find(repo, branch=branch, step=step, latest=True), f"at step {step}")


def latest(spec: str, *, client: Client | None = None) -> dict:
    """The newest commit (of the branch, if ``@branch`` is given)."""
    repo, branch = parse_spec(spec, default_rev=None)
    return _one(repo, _c(client).find(repo, branch=branch, latest=True), "found")


def best(spec: str, metric: str, *, minimize: bool = False, client: Client | None = None) -> dict:
    """The commit with the best value of ``metric`` (highest; lowest with ``minimize=True``)."""
    repo, branch = parse_spec(spec, default_rev=None)
    return _one(repo, _c(client).find(repo, branch=branch, best=metric, minimize=minimize, limit=1),
                f"with metric {metric!r}")


def branches(repo: str, *, client: Client | None = None) -> list[str]:
    return _c(client).branches(repo)


def lineage(spec: str, *, client: Client | None = None) -> dict:
    repo, rev = parse_spec(spec)
    return _c(client).lineage(repo, rev)
