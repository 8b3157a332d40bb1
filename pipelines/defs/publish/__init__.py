"""Dagster definitions for the publish area (see docs/ARCHITECTURE.md).

``["publish", "snapshot"]`` depends on every mart asset (the dbt models in schemas ``marts`` and
``marts_restricted``) and on the quality audit asset, so the blocking asset checks on them run
first; a failed blocking check keeps this asset from running and the previous snapshot stays
current. The asset calls ``pipelines.publish.publish_snapshot`` (write-audit-publish) with the
run's quality results, then rewrites the reviewer reports. Under the in-process executor the
quality step writes the tables ahead into a staging folder while its checks run
(``start_staging_ahead``); this asset then publishes them, and a failed blocking check removes
them (``discard_staging_ahead``).
"""


import dagster as dg

from pipelines.quality.engine import BRONZE_AUDIT_KEY, load_suites

REQUIRED_MARTS = (
    ("marts", "dim_grid"), ("marts", "xref_source_record"), ("marts_restricted", "dim_person"),
    ("marts", "dim_household"), ("marts", "dim_house"), ("marts", "fct_incident"),
    ("marts", "mart_grid_profile"), ("marts", "mart_city_summary"), ("marts", "quality_issues"),
)


STAGE_AHEAD = "publish-stage"


def mart_keys() -> list[dg.AssetKey]:
    """Every mart asset: the contract's tables, the suites' assets and the dbt marts."""
    keys = {dg.AssetKey(list(k)) for k in REQUIRED_MARTS}
    keys |= {dg.AssetKey(s.asset_key) for s in load_suites()}
    try:
        from pipelines.defs import warehouse

        for a in warehouse.defs.assets or []:
            for k in getattr(a, "keys", None) or [getattr(a, "key", None)]:
                if k is not None and k.path[0] in ("marts", "marts_restricted"):
                    keys.add(k)
    except Exception:  # noqa: BLE001, S110 - the warehouse area is optional for this module
        pass
    keys.add(dg.AssetKey(list(BRONZE_AUDIT_KEY)))
    return sorted(keys, key=lambda k: k.to_user_string())


@dg.asset(
    key=["publish", "snapshot"],
    deps=mart_keys(),
    group_name="publish",
    description="Write-audit-publish: every mart as Parquet in marts/<snapshot_id>/ with "
    "_manifest.json, then marts/CURRENT switched atomically.",
    retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
    kinds={"parquet"},
)
def snapshot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from pipelines.publish import publish_snapshot, quality_summary
    from pipelines.quality.engine import load_run, run_checks
    from pipelines.quality.reports import write_reports

    quality = load_run(context.run.run_id)
    if not quality["checks"]:
        # Published on its own (no checks in this run): audit here first.
        quality = run_checks(run_id=context.run.run_id, write_reports=False)
    summary = quality_summary(quality)
    staged = _staged_ahead(context)
    folder = publish_snapshot(quality=quality, log=context.log.info, staged=staged)
    write_reports(context.run.run_id, quality)
    import json

    manifest = json.loads((folder / "_manifest.json").read_text())
    return dg.MaterializeResult(
        metadata={
            "snapshot_id": folder.name,
            "path": dg.MetadataValue.path(str(folder)),
            "tables": len(manifest["tables"]),
            "rows": sum(t["rows"] for t in manifest["tables"].values()),
            "checks": summary["checks"],
            "warnings": len(summary["warnings"]),
            "tables_written": "beside the quality checks" if staged else "in this step",
        }
    )


def _staged_ahead(context: dg.AssetExecutionContext):
    """The tables this run's quality step staged beside its checks, or None (then
    ``publish_snapshot`` writes them itself)."""
    from pipelines.lib import ahead

    started = ahead.take(context.run.run_id, STAGE_AHEAD)
    if started is None:
        return None
    try:
        return started.result()
    except Exception as exc:  # noqa: BLE001 - written again here; the reason is logged
        context.log.warning(f"staging the tables beside the checks failed "
                            f"({type(exc).__name__}); writing them now")
        return None


def start_staging_ahead(context) -> None:
    """Write the snapshot's tables into a staging folder in the background while the quality
    checks run, when this process also runs the publish step (the in-process executor). The
    writing runs in a child process at a lower CPU priority, on the cores the checks leave
    idle."""
    from pipelines.lib import ahead
    from pipelines.publish import stage_tables_niced

    if ahead.planned(context, snapshot.op.name):
        ahead.start(context.run.run_id, STAGE_AHEAD, stage_tables_niced,
                    thread_name="publish-stage")


def discard_staging_ahead(run_id: str) -> None:
    """Remove the tables staged for this run: its blocking checks failed, nothing publishes."""
    from pipelines.lib import ahead
    from pipelines.publish import discard_staged

    started = ahead.take(run_id, STAGE_AHEAD)
    if started is not None and started.exception() is None:
        discard_staged(started.result())


defs = dg.Definitions(assets=[snapshot])
