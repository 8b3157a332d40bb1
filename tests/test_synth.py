"""The synthetic city: contract conformance, identity numbers, structure, determinism.

Assertions are on counts only: no identity number, name or phone is ever printed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines import config
from pipelines.lib.contract_check import check_delivery
from pipelines.lib.manifest import list_deliveries, read_manifest
from pipelines.synth import PROFILES, generate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("synth") / "landing"
    truth = generate("tiny", root, seed=7, progress=False)
    return root, truth


def test_truth_beside_landing_not_inside(tiny):
    root, truth = tiny
    assert truth == config.truth_dir(root)
    assert not truth.is_relative_to(root)
    assert {p.name for p in root.iterdir()} <= {"grid", "household", "housing", "party", "incident"}


def test_every_delivery_passes_the_contract_checker(tiny):
    root, _ = tiny
    deliveries = list_deliveries(root)
    sources = {s for s, _ in deliveries}
    assert sources == {"grid", "household", "housing", "party", "incident"}
    for source, did in deliveries:
        problems = check_delivery(root / source / did)
        assert problems == [], f"{source}/{did}: {len(problems)} problems, first: {problems[:1]}"
    # a full delivery for every source first, deltas after it
    for source in sources:
        kinds = [read_manifest(root / source / d).kind for s, d in deliveries if s == source]
        assert kinds[0] == "full"
        if source != "grid":
            assert len(kinds) >= 5 and set(kinds[1:]) == {"delta"}


def test_refuses_to_overwrite(tiny):
    root, _ = tiny
    with pytest.raises(FileExistsError):
        generate("tiny", root, seed=7, progress=False)
