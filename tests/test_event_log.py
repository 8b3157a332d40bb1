"""`onegrid run` stores its Dagster events through connections that stay open
(pipelines.lib.event_log): the same files as Dagster's own SQLite storage, which any other
Dagster process (the UI) reads as always; an instance configured with other storage keeps it."""

from __future__ import annotations

import threading

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from pipelines import orchestrate
from pipelines.lib.event_log import PersistentSqliteEventLogStorage


@dg.asset
def upstream() -> int:
    return 1


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="downstream")])
def downstream(upstream: int):
    yield dg.Output(upstream + 1)
    yield dg.AssetCheckResult(passed=True, check_name="positive")


JOB = dg.Definitions(
    assets=[upstream, downstream],
    jobs=[dg.define_asset_job("both", selection=["upstream", "downstream"])],
).resolve_job_def("both")


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "dagster_home"
    path.mkdir()
    (path / "dagster.yaml").write_text(orchestrate.DAGSTER_YAML)
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    return path


def test_runs_side_by_side_are_read_by_a_default_instance(home):
    instance = orchestrate._run_instance()
    assert isinstance(instance.event_log_storage, PersistentSqliteEventLogStorage)
    results: list = []

    def run():
        results.append(JOB.execute_in_process(instance=instance, raise_on_error=False))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(r.success for r in results)
    stored = {r.run_id: len(instance.all_logs(r.run_id)) for r in results}
    instance.dispose()

    # Dagster's own storage on the same files: every run, event, materialisation and check
    plain = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    assert not isinstance(plain.event_log_storage, PersistentSqliteEventLogStorage)
    assert {r.run_id for r in plain.get_runs()} == set(stored)
    for run_id, count in stored.items():
        assert plain.get_run_by_id(run_id).is_success
        assert len(plain.all_logs(run_id)) == count > 0
    materialised = plain.fetch_materializations(dg.AssetKey("downstream"), limit=10).records
    assert {m.run_id for m in materialised} == set(stored)
    check = plain.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("downstream"), "positive"), limit=10)
    assert len(check) == 3
    # and the persistent storage reads what the plain one wrote after it
    more = JOB.execute_in_process(instance=plain)
    plain.dispose()
    again = orchestrate._run_instance()
    assert again.get_run_by_id(more.run_id).is_success
    assert len(again.fetch_materializations(dg.AssetKey("upstream"), limit=10).records) == 4
    again.delete_run(more.run_id)
    assert again.get_run_by_id(more.run_id) is None
    assert len(again.fetch_materializations(dg.AssetKey("upstream"), limit=10).records) == 3
    # wiping removes the run files, which this process had open
    again.wipe()
    assert again.get_runs() == [] and not list((home / "history" / "runs").glob("*-*.db"))
    again.dispose()


def test_configured_storage_is_kept(home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (home / "dagster.yaml").write_text(
        orchestrate.DAGSTER_YAML + f"storage:\n  sqlite:\n    base_dir: {elsewhere}\n")
    instance = orchestrate._run_instance()
    assert not isinstance(instance.event_log_storage, PersistentSqliteEventLogStorage)
    result = JOB.execute_in_process(instance=instance)
    assert result.success and (elsewhere / "history" / "runs" / f"{result.run_id}.db").exists()
    instance.dispose()
