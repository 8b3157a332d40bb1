"""Phases inside one `onegrid run`, from the Dagster run records it left (no log parsing).

    uv run python bench/job_phases.py <DAGSTER_HOME> [--since EPOCH_SECONDS]

Prints JSON: seconds of the ingestion runs (first start to last end: they run side by side),
the dbt build step, the quality-check steps (GX suites and table checks), the dbt docs step and
the publish step of the runs started after ``--since``. bench/harness.py attaches it to the
main job and the delta.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def phases(home: str, since: float = 0.0) -> dict:
    os.environ["DAGSTER_HOME"] = home
    import dagster as dg

    instance = dg.DagsterInstance.get()
    out = {"ingest_s": 0.0, "dbt_s": 0.0, "checks_s": 0.0, "docs_s": 0.0, "publish_s": 0.0}
    ingest_start, ingest_end = None, None
    for run in instance.get_runs():
        stats = instance.get_run_stats(run.run_id)
        if not stats.start_time or stats.start_time < since:
            continue
        if run.job_name.startswith("ingest_"):
            ingest_start = min(ingest_start or stats.start_time, stats.start_time)
            ingest_end = max(ingest_end or stats.end_time, stats.end_time)
            continue
        if run.job_name != "build_and_publish":
            continue
        for step in instance.get_run_step_stats(run.run_id):
            seconds = (step.end_time or 0) - (step.start_time or 0)
            key = step.step_key
            if key == "warehouse_dbt":
                out["dbt_s"] += seconds
            elif key.startswith("docs__"):
                out["docs_s"] += seconds
            elif key.startswith("publish__"):
                out["publish_s"] += seconds
            elif key.startswith(("quality__", "marts__", "marts_restricted__")):
                out["checks_s"] += seconds
    if ingest_start is not None:
        out["ingest_s"] = ingest_end - ingest_start
    return {k: round(v, 2) for k, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("home")
    ap.add_argument("--since", type=float, default=0.0)
    a = ap.parse_args()
    print(json.dumps(phases(a.home, a.since)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
