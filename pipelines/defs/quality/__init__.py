"""Dagster definitions for the quality area (see docs/ARCHITECTURE.md).

Every GX suite in ``expectations/`` becomes one asset check (``@asset_check``) on the asset
named in its ``meta.onegrid.asset_key``: the marts (``["marts", t]`` / ``["marts_restricted",
t]``) and ``["quality", "bronze"]``, the audit point after ingestion that bronze-delivery
suites, row accounting and freshness attach to. A suite holding a ``critical`` expectation is
``blocking=True``: when it fails the check reports ``AssetCheckSeverity.ERROR`` and the publish
asset downstream does not run, so the previous snapshot stays current. Suites with only
``warning`` expectations report ``WARN`` and never block.

Each check saves its outcome (counts only) under ``reports/.runs/<run_id>/`` and rewrites the
reviewer reports (``reports/index.html``), so a run whose blocking check failed still leaves
its report. The engine lives in ``pipelines.quality`` and runs without Dagster.
"""


import dagster as dg

from pipelines import config
from pipelines.quality.engine import (
    BRONZE_AUDIT_KEY,
    Suite,
    load_suites,
    prefetch_warehouse_batches,
    run_suite,
    save_outcome,
)

BRONZE_AUDIT = dg.AssetKey(list(BRONZE_AUDIT_KEY))


@dg.asset(
    key=BRONZE_AUDIT,
    deps=[dg.AssetKey(["bronze", s]) for s in config.SOURCES],
    group_name="quality",
    description="Audit point after ingestion: the bronze suites (latest delivery of every "
    "bronze table), row accounting and freshness run as checks on this asset.",
    kinds={"python"},
)
def bronze_audit(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from pipelines.publish import read_ledger

    ledger = read_ledger()
    return dg.MaterializeResult(
        metadata={
            "accepted_deliveries": len(ledger["accepted"]),
            "rejected_deliveries": len(ledger["rejected"]),
        }
    )


def _metadata(outcome: dict) -> dict:
    exps = outcome["expectations"]
    md: dict = {
        "suite": outcome["suite"],
        "rows_validated": outcome["rows"] if outcome["rows"] is not None else -1,
        "expectations": len(exps),
        "expectations_failed": sum(1 for e in exps if not e["success"]),
        "seconds": outcome["seconds"],
    }
    for e in exps:
        if not e["success"]:
            md[f"failed: {e['rule']}"] = f"{e['severity']}: {e['detail']}"
    if outcome.get("note"):
        md["note"] = outcome["note"]
    if outcome.get("error"):
        md["error"] = outcome["error"]
    if outcome.get("delivery_id"):
        md["delivery_id"] = outcome["delivery_id"]
    return md


def build_check(suite: Suite) -> dg.AssetChecksDefinition:
    deps = [dg.AssetKey(list(k)) for k in suite.meta.get("deps", [])
            if list(k) != suite.asset_key]

    @dg.asset_check(
        asset=dg.AssetKey(suite.asset_key),
        name=suite.name,
        blocking=suite.blocking,
        description=f"GX suite expectations/{suite.path.name}: {suite.description}",
        additional_deps=deps or None,
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from pipelines.quality.reports import write_reports

        run_id = context.op_execution_context.run.run_id
        if suite.batch == "warehouse":
            # the warehouse suites of this run compute their batches ahead, in order
            prefetch_warehouse_batches(run_id, _warehouse_suites_in(context.op_execution_context.job_def))
        outcome = run_suite(suite, run_id=run_id)
        save_outcome(run_id, outcome)
        try:
            write_reports(run_id)
        except Exception as exc:  # noqa: BLE001 - a report problem must not hide the result
            context.log.warning(f"reports not written: {type(exc).__name__}")
        return dg.AssetCheckResult(
            passed=bool(outcome["passed"]),
            severity=(dg.AssetCheckSeverity.ERROR if outcome["severity"] == "error"
                      else dg.AssetCheckSeverity.WARN),
            metadata=_metadata(outcome),
            description=outcome.get("description"),
        )

    return _check


def _warehouse_suites_in(job_def: dg.JobDefinition) -> list[Suite]:
    """The suites whose checks this job (or this subset of it) runs, in the job's topological
    order of their check ops (the order the in-process executor follows)."""
    rank = {node.name: i for i, node in enumerate(job_def.graph.nodes_in_topological_order)}
    mine = [(rank[_CHECK_OP[s.name]], s) for s in SUITES if _CHECK_OP[s.name] in rank]
    return [s for _, s in sorted(mine, key=lambda x: x[0])]


SUITES = load_suites()
checks = [build_check(s) for s in SUITES]
_CHECK_OP = {s.name: c.node_def.name for s, c in zip(SUITES, checks)}

defs = dg.Definitions(assets=[bronze_audit], asset_checks=checks)
