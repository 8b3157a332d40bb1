"""`onegrid run`: materialise every asset for the deliveries in the landing root, then publish.

The same Dagster definitions the UI shows are executed here, against a persistent instance in
``$DAGSTER_HOME`` (default ``$ONEGRID_DATA_DIR/dagster_home``), so every run, materialisation
and check result is visible afterwards in ``dagster dev``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

from pipelines import config
from pipelines.lib.processes import pid_alive

# The instance config `onegrid run` and `onegrid ui` share. DuckDB allows one writer process:
# the dbt asset runs in the pool `duckdb_warehouse`, limited to one op at a time across runs.
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def prepare_environment() -> None:
    """Resolve paths once and export them for child processes (dbt, dagster)."""
    data = config.data_dir()
    data.mkdir(parents=True, exist_ok=True)
    os.environ["ONEGRID_DATA_DIR"] = str(data)
    os.environ.setdefault("ONEGRID_LANDING_DIR", str(config.landing_dir()))
    home = config.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    yaml_path = home / "dagster.yaml"
    if not yaml_path.exists():
        yaml_path.write_text(DAGSTER_YAML)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("ONEGRID_DBT_PROJECT_DIR", str(config.DBT_PROJECT_DIR))
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def ensure_dbt_manifest() -> None:
    """Re-parse the dbt project when any of its files is newer than the prepared manifest.

    Definition loading reads ``dbt_project/target/manifest.json`` and never parses; a
    developer who edits a model and calls ``onegrid run`` should not get a stale graph.
    """
    project = config.DBT_PROJECT_DIR
    manifest = project / "target" / "manifest.json"
    built = manifest.stat().st_mtime if manifest.exists() else 0.0
    newest = 0.0
    for sub in ("models", "macros", "seeds", "tests", "snapshots"):
        for path in (project / sub).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    for name in ("dbt_project.yml", "profiles.yml"):
        if (project / name).exists():
            newest = max(newest, (project / name).stat().st_mtime)
    if newest > built:
        import subprocess

        _say("dbt project changed since its manifest was prepared: running `dbt parse`")
        subprocess.run(_dbt_parse_command(), check=True, cwd=project)


def _dbt_parse_command() -> list[str]:
    """`dbt parse` of the project. `--target dev` as dagster-dbt passes it
    (DbtProject(target="dev")): dbt keeps the target flag in its partial-parsing state, and
    without it every later dbt command of the run would parse the whole project again (about
    7 s on this machine)."""
    project = str(config.DBT_PROJECT_DIR)
    return [config.dbt_executable(), "parse", "--project-dir", project, "--profiles-dir", project,
            "--target", "dev", "--quiet"]


def start_dbt_parse_ahead():
    """Parse the dbt project into this data dir's dbt target folder in the background, when
    that folder has no partial-parsing state yet (the first run on a data dir); returns the
    process, or None.

    dbt keeps its parse in the target folder and reuses it only for the same profile, whose
    warehouse path is under ONEGRID_DATA_DIR: the first ``dbt build`` on a new data dir parsed
    the whole project before its first model (2.6 s at qianxinan), on one core while the
    other waited. Parsed here, that work overlaps the definitions loading (one core) and the
    ingestion, and the build starts from the parse. The target and log folder are the ones
    dagster-dbt gives its dbt commands, and the flags theirs; were anything to differ, the
    build would parse again, as before."""
    import subprocess

    target = config.dbt_target_dir()
    if (target / "partial_parse.msgpack").exists():
        return None
    target.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target),
           "DBT_LOG_FORMAT": "json"}
    try:
        return subprocess.Popen(_dbt_parse_command(), cwd=config.DBT_PROJECT_DIR, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None  # the build parses


@dataclass
class RunSummary:
    deliveries: dict[str, list[str]] = field(default_factory=dict)
    rejected: list[dict] = field(default_factory=list)
    failed_runs: list[str] = field(default_factory=list)
    snapshot: str | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if (self.rejected or self.failed_runs or not self.snapshot) else 0


def _say(msg: str) -> None:
    print(msg, flush=True)


def _rejections() -> list[dict]:
    from pipelines.ingestion import ledger_entries

    return [doc for doc in ledger_entries() if doc.get("status") == "rejected"]


def _failed_checks() -> tuple[list[str], int]:
    """Blocking checks that failed in the latest run's quality results, and the warning count."""
    path = config.reports_dir() / "quality_results.json"
    try:
        checks = json.loads(path.read_text()).get("checks", [])
    except (OSError, json.JSONDecodeError):
        return [], 0
    failed, warnings = [], 0
    for check in checks:
        if check.get("passed"):
            continue
        if check.get("severity") == "warning":
            warnings += 1
            continue
        rules = [e.get("description") or e.get("rule") for e in check.get("expectations", [])
                 if not e.get("success") and e.get("severity") == "critical"]
        reason = check.get("error") or "; ".join(r for r in rules if r) or "failed"
        failed.append(f"{check.get('check')}: {reason}")
    return failed, warnings


def recover_crashed_runs(instance) -> list[str]:
    """Runs of `onegrid run` on this host whose process died (SIGKILL, power loss) stay
    STARTED in the instance and keep their concurrency slot (pool `duckdb_warehouse`, limit 1)
    forever, blocking every later build. Mark them failed and free their slots."""
    import socket

    import dagster as dg

    records = instance.get_run_records(dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING,
                  dg.DagsterRunStatus.NOT_STARTED],
        tags={"onegrid/host": socket.gethostname()},
    ))
    recovered = []
    for record in records:
        run = record.dagster_run
        pid = int(run.tags.get("onegrid/pid", "0") or 0)
        if pid and pid != os.getpid() and not pid_alive(pid):
            instance.report_run_failed(run, message=f"the process running it (pid {pid}) "
                                       "ended without finishing it")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            recovered.append(run.run_id)
    return recovered


# dagster.yaml keys that choose the instance's storage
STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")


def _run_instance():
    """The Dagster instance of ``$DAGSTER_HOME`` for the runs ``onegrid run`` starts, with the
    steps' stdout and stderr left on this console instead of captured into compute-log files.
    The capture swaps the process's file descriptors 1 and 2 while a step runs, which is not
    safe for the ingestion runs that go side by side in threads (the console ended up pointing
    at a finished step's log file). Runs launched from the UI keep dagster.yaml's capture; these
    runs' structured events are in the event log as always, in the same files, written through
    connections that stay open while the run goes on (``pipelines.lib.event_log``)."""
    import dagster as dg
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.instance.ref import InstanceRef

    home = str(config.dagster_home())
    overrides: dict = {"compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager"}}
    configured, _ = dagster_instance_config(home)
    if not any(configured.get(k) for k in STORAGE_KEYS):
        # Dagster's default SQLite files, written through connections that stay open
        # (pipelines.lib.event_log); an instance configured with other storage keeps it.
        default = InstanceRef.config_defaults(home)["event_log_storage"]
        overrides["event_log_storage"] = {
            "module": "pipelines.lib.event_log", "class": "PersistentSqliteEventLogStorage",
            "config": default.config_dict}
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(home, overrides=overrides))
    if not instance.get_python_log_dagster_handler_config():
        # Dagster calls logging.config.dictConfig at every run start even when dagster.yaml
        # configures no Python log handlers (it then yields none). dictConfig closes every
        # handler of the process under the logging lock, which deadlocks against a run in
        # another thread that is storing an event. Without a configuration the result is
        # known, so skip the call for runs started here.
        instance.get_yaml_python_handlers = list
    return instance



def _run_tags() -> dict[str, str]:
    import socket

    return {"onegrid/host": socket.gethostname(), "onegrid/pid": str(os.getpid())}


def run_all(generate_if_empty: bool = True, profile: str = "tiny", seed: int = 0) -> RunSummary:
    prepare_environment()
    started = time.perf_counter()
    from pipelines.lib.manifest import list_deliveries
    from pipelines.publish import current_snapshot_id

    landing = config.landing_dir()
    if not list_deliveries(landing):
        if not generate_if_empty:
            raise SystemExit(f"no deliveries under {landing}")
        _say(f"No deliveries under {landing}: generating the '{profile}' sample city there.")
        from pipelines.synth import generate

        generate(profile, landing, seed=seed, progress=True)

    ensure_dbt_manifest()
    parse_ahead = start_dbt_parse_ahead()
    from pipelines.definitions import defs

    instance = _run_instance()
    for run_id in recover_crashed_runs(instance):
        _say(f"Run {run_id} was interrupted earlier (its process is gone): marked failed")
    summary = RunSummary()
    before = current_snapshot_id()

    by_source: dict[str, list[str]] = {}
    for source, delivery_id in list_deliveries(landing):
        by_source.setdefault(source, []).append(delivery_id)
    summary.deliveries = by_source

    for source, ids in by_source.items():
        partitions = f"{source}_deliveries"
        known = set(instance.get_dynamic_partitions(partitions))
        new = [d for d in ids if d not in known]
        if new:
            instance.add_dynamic_partitions(partitions, new)
        _say(f"Ingesting {source}: {len(ids)} deliveries ({len(new)} new)")

    def ingest(source: str) -> None:
        # The asset applies a source's pending deliveries in delivery_id order up to its own
        # partition, so one run on the newest partition brings the source up to date.
        result = defs.resolve_job_def(f"ingest_{source}").execute_in_process(
            instance=instance, partition_key=by_source[source][-1], raise_on_error=False,
            tags=_run_tags())
        if not result.success:
            summary.failed_runs.append(f"ingest_{source} (run {result.run_id})")

    # Sources share nothing before the warehouse: their runs go side by side (the asset moves
    # big deliveries into a worker process, so the runs overlap on every core).
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.ingestion.engine import (
        PARALLEL_MIN_BYTES,
        ingest_workers,
        pending_bytes,
    )

    # Big sources (their asset ingests them in a worker process) go biggest first, at most
    # ingest_workers() at a time; the small ones run one after another in this thread beside
    # them instead of waiting for a big one to finish.
    size = {s: pending_bytes(landing, s) for s in by_source}
    big = sorted((s for s in by_source if size[s] >= PARALLEL_MIN_BYTES), key=lambda s: -size[s])
    with ThreadPoolExecutor(max_workers=ingest_workers(), thread_name_prefix="ingest") as pool:
        futures = [pool.submit(ingest, s) for s in big]
        for s in by_source:
            if s not in big:
                ingest(s)
        for f in futures:
            f.result()

    if parse_ahead is not None:
        parse_ahead.wait()  # the build reads its parse (a failed parse: the build parses again)
    _say("Building the warehouse, running the quality checks and publishing")
    result = defs.resolve_job_def("build_and_publish").execute_in_process(
        instance=instance, raise_on_error=False, tags=_run_tags()
    )
    if not result.success:
        summary.failed_runs.append(f"build_and_publish (run {result.run_id})")
    instance.dispose()  # closes the event log's open connections

    summary.rejected = _rejections()
    after = current_snapshot_id()
    # A new snapshot, or (a clean run over unchanged data) the one that still stands.
    if after and (after != before or not summary.failed_runs):
        summary.snapshot = after
    summary.seconds = time.perf_counter() - started
    return summary


def print_summary(summary: RunSummary) -> None:
    _say("")
    _say(f"onegrid run finished in {summary.seconds:.1f} s")
    n = sum(len(v) for v in summary.deliveries.values())
    _say(f"  deliveries seen: {n} ({', '.join(f'{s} {len(v)}' for s, v in summary.deliveries.items())})")
    if summary.snapshot:
        _say(f"  published snapshot: {config.marts_dir() / summary.snapshot}")
        _say(f"  current snapshot pointer: {config.marts_dir() / 'CURRENT'}")
    else:
        _say("  no new snapshot was published (the previous one, if any, stays current)")
    _say(f"  quality reports: {config.reports_dir() / 'index.html'}")
    _say(f"  mart documentation (dbt docs): {config.data_dir() / 'docs' / 'index.html'}")
    _say(f"  warehouse (dbt): {config.warehouse_path()}")
    _say(f"  Dagster runs: DAGSTER_HOME={config.dagster_home()}  (browse with `onegrid ui`)")
    if summary.rejected:
        _say(f"  REJECTED deliveries ({len(summary.rejected)}):")
        for doc in summary.rejected:
            _say(f"    - {doc.get('source')}/{doc.get('delivery_id')}: {doc.get('reason')}")
    failed_checks, warnings = _failed_checks()
    if warnings:
        _say(f"  quality warnings: {warnings} check(s) (see the reports)")
    if failed_checks:
        _say(f"  BLOCKING quality checks failed ({len(failed_checks)}), nothing published:")
        for line in failed_checks:
            _say(f"    - {line}")
    for failed in summary.failed_runs:
        _say(f"  FAILED: {failed}")
