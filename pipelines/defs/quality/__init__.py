"""Dagster definitions for the quality area (see docs/ARCHITECTURE.md).

Every GX suite in ``expectations/`` becomes one asset check on the asset named in its
``meta.onegrid.asset_key``: the marts (``["marts", t]`` / ``["marts_restricted", t]``) and
``["quality", "bronze"]``, the audit point after ingestion that bronze-delivery suites, row
accounting and freshness attach to. A suite holding a ``critical`` expectation is
``blocking=True``: when it fails the check reports ``AssetCheckSeverity.ERROR`` and the publish
asset downstream does not run, so the previous snapshot stays current. Suites with only
``warning`` expectations report ``WARN`` and never block.

The checks are the specs of one ``@multi_asset_check`` op (``quality__suites``) that runs the
suites selected in a run one after another and reports each as it finishes: one step instead of
one per suite (each step costs Dagster about 60 ms of bookkeeping), and the warehouse suites'
batches are computed ahead in the background while the suites before them validate. A single
check can still be run alone (the op subsets).

Each suite's outcome (counts only) is saved under ``reports/.runs/<run_id>/``, and the reviewer
reports (``reports/index.html``) are written when the suites are done, also when one raised, so
a run whose blocking check failed still leaves its report. The engine lives in
``pipelines.quality`` and runs without Dagster.
"""


import dagster as dg

from pipelines import config
from pipelines.quality.engine import (
    BRONZE_AUDIT_KEY,
    Suite,
    default_params,
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


def check_spec(suite: Suite) -> dg.AssetCheckSpec:
    deps = [dg.AssetKey(list(k)) for k in suite.meta.get("deps", [])
            if list(k) != suite.asset_key]
    return dg.AssetCheckSpec(
        name=suite.name,
        asset=dg.AssetKey(suite.asset_key),
        blocking=suite.blocking,
        description=f"GX suite expectations/{suite.path.name}: {suite.description}",
        additional_deps=deps or None,
    )


def _result(suite: Suite, outcome: dict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(suite.asset_key),
        check_name=suite.name,
        passed=bool(outcome["passed"]),
        severity=(dg.AssetCheckSeverity.ERROR if outcome["severity"] == "error"
                  else dg.AssetCheckSeverity.WARN),
        metadata=_metadata(outcome),
        description=outcome.get("description"),
    )


SUITES = load_suites()
SPECS = [check_spec(s) for s in SUITES]


@dg.multi_asset_check(
    specs=SPECS,
    name="quality__suites",
    can_subset=True,
    description="The GX suites of expectations/, one asset check each.",
)
def quality_suites(context: dg.AssetCheckExecutionContext):
    from pipelines.defs.publish import discard_staging_ahead, start_staging_ahead
    from pipelines.quality.reports import write_reports

    run_id = context.op_execution_context.run.run_id
    selected = context.selected_asset_check_keys
    suites = [s for s, spec in zip(SUITES, SPECS) if spec.key in selected]
    params = default_params()
    # write-audit-publish: the snapshot's tables are written (staged) while the checks audit
    start_staging_ahead(context.op_execution_context)
    prefetch_warehouse_batches(run_id, suites, params)
    blocked, finished = False, False
    try:
        for suite in suites:
            outcome = run_suite(suite, params, run_id=run_id)
            save_outcome(run_id, outcome)
            blocked = blocked or (suite.blocking and outcome["severity"] == "error")
            yield _result(suite, outcome)
        finished = True
    finally:
        if blocked or not finished:  # the publish step will not run
            discard_staging_ahead(run_id)
        try:
            write_reports(run_id)
        except Exception as exc:  # noqa: BLE001 - a report problem must not hide the results
            context.log.warning(f"reports not written: {type(exc).__name__}")


defs = dg.Definitions(assets=[bronze_audit], asset_checks=[quality_suites])
