"""Keyed hashes for entity keys.

Keys such as ``person_key`` must be stable across snapshots and must not reveal an identity
number, so they are keyed hashes with a secret, never a bare hash of the value. The secret
comes from ``ONEGRID_KEY_SECRET``; on a development machine without it, one is generated
once and kept under ``ONEGRID_DATA_DIR/secret/key``, readable by its owner only.

The hash is computed inside DuckDB (vectorised, C++), with the secret bound as a query
parameter so it never appears in SQL text, logs or compiled dbt files:
    key = left(sha256(outer || sha256(inner || domain || ':' || value)), 32)
an HMAC-shaped construction with two secret-derived pads.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pipelines import config

KEY_HEX_CHARS = 32


def _secret_file() -> Path:
    return config.data_dir() / "secret" / "key"


def load_secret() -> str:
    env = os.environ.get("ONEGRID_KEY_SECRET")
    if env:
        return env
    path = _secret_file()
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


@lru_cache(maxsize=4)
def _pads(secret: str) -> tuple[str, str]:
    inner = hashlib.sha256(("inner:" + secret).encode()).hexdigest()
    outer = hashlib.sha256(("outer:" + secret).encode()).hexdigest()
    return inner, outer


def pads() -> tuple[str, str]:
    """(inner, outer) pads derived from the secret; pass them as query parameters."""
    return _pads(load_secret())


def keyed_hash_sql(value_sql: str, domain: str, inner_param: str = "$inner",
                   outer_param: str = "$outer") -> str:
    """A DuckDB expression computing the keyed hash of ``value_sql`` (NULL stays NULL).

    ``domain`` separates key spaces (``id``, ``household``, ``record:household``...).
    """
    if "'" in domain:
        raise ValueError("domain must not contain quotes")
    return (
        f"CASE WHEN ({value_sql}) IS NULL THEN NULL ELSE left(sha256({outer_param} || "
        f"sha256({inner_param} || '{domain}:' || ({value_sql}))), {KEY_HEX_CHARS}) END"
    )


def keyed_hash(value: str, domain: str) -> str:
    """The same keyed hash computed in Python, for single values and tests."""
    inner, outer = pads()
    h1 = hashlib.sha256((inner + f"{domain}:" + value).encode()).hexdigest()
    return hashlib.sha256((outer + h1).encode()).hexdigest()[:KEY_HEX_CHARS]
