"""When the code of an incremental dbt model changes, its stored rows were made by the old code.

dbt's rule is "run it with --full-refresh"; nobody should have to remember that on a nightly
job. ``code_fingerprints(manifest)`` gives, per incremental model, a hash of its SQL and of the
SQL of every macro it reaches (recursively, with the adapter implementations of dispatched
macros), and the same of every model and seed upstream of it: the incremental models track
changes of their inputs' data, not of the code that made those inputs. The warehouse build
stores them after a successful build (``save``) and asks ``changed(manifest)`` before the next
one: when any fingerprint differs, that build runs with ``--full-refresh``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

STATE_NAME = "incremental_code.json"


def _macro_closure(manifest: Mapping[str, Any], roots: list[str], adapter: str) -> list[str]:
    macros = manifest.get("macros", {})
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        uid = stack.pop()
        if uid in seen or uid not in macros:
            continue
        seen.add(uid)
        m = macros[uid]
        stack.extend(m.get("depends_on", {}).get("macros", []))
        # adapter.dispatch: the implementations are not in depends_on
        prefix, name = uid.rsplit(".", 1)
        for impl in (f"{adapter}__{name}", f"default__{name}"):
            stack.append(f"{prefix}.{impl}")
    return sorted(seen)


def _ancestors(manifest: Mapping[str, Any], uid: str) -> list[str]:
    """The models, seeds and snapshots ``uid`` reads, directly or through others."""
    nodes = manifest.get("nodes", {})
    seen: set[str] = set()
    stack = list(nodes[uid].get("depends_on", {}).get("nodes", []))
    while stack:
        up = stack.pop()
        if up in seen or up not in nodes:
            continue
        seen.add(up)
        stack.extend(nodes[up].get("depends_on", {}).get("nodes", []))
    return sorted(seen)


def _node_code(manifest: Mapping[str, Any], uid: str, adapter: str, h) -> None:
    node = manifest["nodes"][uid]
    macros = manifest.get("macros", {})
    h.update(uid.encode())
    # a seed's code is its file: its checksum
    h.update((node.get("raw_code") or (node.get("checksum") or {}).get("checksum") or "").encode())
    h.update(json.dumps(node.get("config", {}).get("pre-hook", []), sort_keys=True,
                        default=str).encode())
    h.update(json.dumps(node.get("config", {}).get("post-hook", []), sort_keys=True,
                        default=str).encode())
    for m in _macro_closure(manifest, node.get("depends_on", {}).get("macros", []), adapter):
        h.update(m.encode())
        h.update((macros[m].get("macro_sql") or "").encode())


def code_fingerprints(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Per incremental model: its code and that of every model or seed upstream of it (stored
    rows are a function of the inputs' data, which the models track, and of all that code)."""
    adapter = manifest.get("metadata", {}).get("adapter_type") or "duckdb"
    out = {}
    for uid, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "model":
            continue
        if (node.get("config") or {}).get("materialized") != "incremental":
            continue
        h = hashlib.sha256()
        for part in [uid, *_ancestors(manifest, uid)]:
            _node_code(manifest, part, adapter, h)
        out[uid] = h.hexdigest()
    return out


def _state_path(warehouse_file: Path) -> Path:
    """Beside the warehouse file: the fingerprints describe that file's tables."""
    return warehouse_file.parent / STATE_NAME


def changed(manifest: Mapping[str, Any], warehouse_file: Path) -> list[str]:
    """Incremental models whose code differs from the code that built the stored warehouse.
    Empty when there is no warehouse yet (the build is a full one anyway)."""
    if not warehouse_file.exists():
        return []
    path = _state_path(warehouse_file)
    now = code_fingerprints(manifest)
    if not path.exists():
        # a warehouse built before fingerprints were kept: its code is unknown
        return sorted(now)
    before = json.loads(path.read_text(encoding="utf-8"))
    return sorted(uid for uid, fp in now.items() if before.get(uid) != fp)


def save(manifest: Mapping[str, Any], warehouse_file: Path, only: set[str] | None = None) -> None:
    """Record the code that built the incremental models in ``only`` (default: all); the
    others keep their recorded fingerprints."""
    path = _state_path(warehouse_file)
    before = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    now = code_fingerprints(manifest)
    after = {uid: (fp if only is None or uid in only else before.get(uid))
             for uid, fp in now.items()}
    after = {uid: fp for uid, fp in after.items() if fp is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(after, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
