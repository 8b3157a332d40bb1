"""Dagster objects for one source system, thin over ``pipelines.ingestion``.

Per source: a partitioned asset ``["bronze", <source>]`` (dynamic partitions, key =
delivery_id), its checks (``delivery_accepted``, ``rows_accounted``), a job and a nightly
schedule. A rejected delivery still materialises (the rejection is recorded) and fails the
non-blocking ``delivery_accepted`` check with severity ERROR, so the build goes on from the
source's last accepted state. Nothing here touches the file system at definition time.
"""

import functools
import hashlib
import json
import warnings

import dagster as dg

from pipelines import config

CHECK_ACCEPTED = "delivery_accepted"
CHECK_ACCOUNTED = "rows_accounted"
GROUP = "bronze"


def partitions_def(source: str) -> dg.DynamicPartitionsDefinition:
    return dg.DynamicPartitionsDefinition(name=f"{source}_deliveries")


def asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["bronze", source])


def job_name(source: str) -> str:
    return f"ingest_{source}"


def count_rows(source: str, delivery_id: str, tables: list[str]) -> dict[str, dict[str, int]]:
    """Rows actually on disk per delivered file: {'bronze': {file: n}, 'quarantine': {...}}."""
    import polars as pl

    out: dict[str, dict[str, int]] = {"bronze": {}, "quarantine": {}}
    for table in tables:
        if table == "steps":
            continue
        p = config.bronze_dir() / source / table / f"delivery_id={delivery_id}" / "part-0.parquet"
        if p.exists():
            for f, n in pl.scan_parquet(p).group_by("_file").len().collect().iter_rows():
                out["bronze"][f] = out["bronze"].get(f, 0) + n
        q = config.quarantine_dir() / source / f"delivery_id={delivery_id}" / f"{table}.parquet"
        if q.exists():
            for f, n in pl.scan_parquet(q).group_by("_file").len().collect().iter_rows():
                out["quarantine"][f] = out["quarantine"].get(f, 0) + n
    return out


def accounting(result) -> tuple[bool, dict]:
    """Verify rows in = bronze + quarantined per file, counting the written Parquet."""
    if result.status == "rejected":
        return True, {"note": "rejected: nothing loaded, nothing to account"}
    on_disk = count_rows(result.source, result.delivery_id, list(result.tables))
    rows, ok = [], True
    for f in result.files:
        b, q = on_disk["bronze"].get(f.name, 0), on_disk["quarantine"].get(f.name, 0)
        good = f.rows_in == b + q == f.rows_manifest
        ok &= good
        rows.append({"file": f.name, "rows_in": f.rows_in, "bronze": b, "quarantined": q,
                     "ok": good})
    return ok, {"files": rows}


def _check_specs(key: dg.AssetKey, pdef) -> list[dg.AssetCheckSpec]:
    with warnings.catch_warnings():  # partitioned checks are a preview feature in 1.13
        warnings.simplefilter("ignore")
        return [
            dg.AssetCheckSpec(CHECK_ACCEPTED, asset=key, partitions_def=pdef,
                              description="The delivery passed verification (else: rejected "
                                          "with the delivery, file and reason)."),
            dg.AssetCheckSpec(CHECK_ACCOUNTED, asset=key, partitions_def=pdef,
                              description="Every delivered row is in bronze or quarantine."),
        ]


def build_asset(source: str) -> dg.AssetsDefinition:
    pdef = partitions_def(source)
    key = asset_key(source)

    @dg.asset(
        key=key,
        partitions_def=pdef,
        group_name=GROUP,
        kinds={"polars", "parquet"},
        description=(f"Verified, normalised {source} deliveries in bronze "
                     f"(bronze/{source}/<table>/delivery_id=<id>/). One partition per delivery."),
        check_specs=_check_specs(key, pdef),
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
        metadata={"source": source},
    )
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        from pipelines.ingestion import ingest_source, read_ledger

        delivery_id = context.partition_key
        try:
            # deliveries of a source apply in delivery_id order, whatever order runs start in;
            # big ones in a worker process, so that runs of several sources overlap on all cores
            *earlier_results, result = ingest_source(source, delivery_id)
        except Exception as exc:  # transient I/O and the like: name the delivery, retry
            detail = str(exc) if isinstance(exc, OSError) else exc.__class__.__name__
            raise dg.Failure(description=f"ingesting {source}/{delivery_id} failed: {detail}",
                             allow_retries=True) from exc
        for earlier in earlier_results:
            # an earlier pending delivery applied first: record it on its own partition
            context.log.info(f"applied earlier delivery {source}/{earlier.delivery_id} first: "
                             f"{earlier.status}")
            mr = materialize_result(earlier)
            context.log_event(dg.AssetMaterialization(key, partition=earlier.delivery_id,
                                                      metadata=mr.metadata))
            for c in mr.check_results:
                context.log_event(dg.AssetCheckEvaluation(
                    asset_key=key, check_name=c.check_name, passed=c.passed,
                    severity=c.severity, description=c.description, metadata=c.metadata,
                    partition=earlier.delivery_id))
        shown = result
        if result.status == "unchanged-resend":
            standing = read_ledger(source).get(delivery_id)
            shown = standing or result
        return materialize_result(shown, note=result.status)

    return _asset


def materialize_result(result, note: str | None = None) -> dg.MaterializeResult:
    accepted = result.status in ("accepted", "unchanged-resend")
    where = f"{result.source}/{result.delivery_id}"
    ok, acc = accounting(result)
    meta = {
        "status": result.status,
        "kind": result.kind or "",
        "fingerprint": (result.fingerprint or "")[:12],
        "rows_in": result.rows_in,
        "rows_bronze": result.rows_bronze,
        "rows_quarantined": result.rows_quarantined,
        "issues": result.issues,
        "tables": dg.MetadataValue.json(result.tables),
        "files": dg.MetadataValue.json([f.__dict__ for f in result.files]),
    }
    if result.reason:
        meta["reason"] = result.reason
    if note and note != result.status:
        meta["this_run"] = note
    checks = [
        dg.AssetCheckResult(
            check_name=CHECK_ACCEPTED, passed=accepted, severity=dg.AssetCheckSeverity.ERROR,
            description=(f"{where} accepted" if accepted else f"{where} rejected: {result.reason}"),
            metadata={"delivery": where, "reason": result.reason or ""}),
        dg.AssetCheckResult(
            check_name=CHECK_ACCOUNTED, passed=ok, severity=dg.AssetCheckSeverity.ERROR,
            description=(f"{where}: rows in = bronze + quarantined" if ok
                         else f"{where}: rows not accounted for"),
            metadata={"accounting": dg.MetadataValue.json(acc)}),
    ]
    return dg.MaterializeResult(metadata=meta, check_results=checks)


@functools.lru_cache(maxsize=None)
def build_job(source: str):
    return dg.define_asset_job(job_name(source), selection=dg.AssetSelection.assets(
        asset_key(source)),
        tags={"onegrid/area": "ingestion", "onegrid/source": source})


# --- what the sensor and schedules request ------------------------------------------------
def manifest_token(delivery_dir) -> str:
    p = delivery_dir / "_manifest.json"
    data = p.read_bytes() if p.is_file() else b""
    return hashlib.sha256(data).hexdigest()[:12]


def wanted(source: str) -> list[tuple[str, str]]:
    """(delivery_id, token) in landing that have no standing ledger entry with this manifest."""
    from pipelines.ingestion import read_ledger
    from pipelines.lib.manifest import ContractError, fingerprint, list_deliveries, read_manifest

    landing = config.landing_dir()
    ledger = read_ledger(source)
    out = []
    for s, did in list_deliveries(landing):
        if s != source:
            continue
        ddir = landing / s / did
        token = manifest_token(ddir)
        prev = ledger.get(did)
        if prev is not None:
            try:
                fp = fingerprint(read_manifest(ddir))
            except ContractError:
                fp = None
            if prev.fingerprint in (fp, "m" + hashlib.sha256(
                    (ddir / "_manifest.json").read_bytes()
                    if (ddir / "_manifest.json").is_file() else b"<no manifest>"
            ).hexdigest()[1:]):
                continue
            if fp and _conflict_recorded(source, did, fp):
                continue
        out.append((did, token))
    return out


def _conflict_recorded(source: str, did: str, fp: str) -> bool:
    return (config.ledger_dir() / source / f"{did}~{fp[:12]}.json").exists()


def run_requests(source: str, known: set[str]) -> tuple[list[str], list[dg.RunRequest]]:
    """(partition keys to add, run requests in delivery order) for one source."""
    new_keys, reqs = [], []
    for did, token in wanted(source):
        if did not in known:
            new_keys.append(did)
        reqs.append(dg.RunRequest(run_key=f"{source}/{did}/{token}", job_name=job_name(source),
                                  partition_key=did,
                                  tags={"onegrid/delivery": f"{source}/{did}"}))
    return new_keys, reqs


def build_schedule(source: str, job) -> dg.ScheduleDefinition:
    @dg.schedule(name=f"{source}_nightly", cron_schedule="30 2 * * *", job=job,
                 execution_timezone="Asia/Shanghai",
                 description=f"Nightly: ingest every {source} delivery not yet processed.")
    def _schedule(context: dg.ScheduleEvaluationContext):
        pdef_name = f"{source}_deliveries"
        known = set(context.instance.get_dynamic_partitions(pdef_name))
        new_keys, reqs = run_requests(source, known)
        if new_keys:
            context.instance.add_dynamic_partitions(pdef_name, new_keys)
        if not reqs:
            return dg.SkipReason(f"no new {source} deliveries")
        return [dg.RunRequest(run_key=None, partition_key=r.partition_key, tags=r.tags)
                for r in reqs]

    return _schedule


def source_defs(source: str) -> dg.Definitions:
    asset = build_asset(source)
    job = build_job(source)
    return dg.Definitions(assets=[asset], jobs=[job], schedules=[build_schedule(source, job)])


def summary_json(result) -> str:
    return json.dumps(result.to_json(), ensure_ascii=False)
