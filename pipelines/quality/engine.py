"""Run the GX 1.x suites of ``expectations/`` against bronze deliveries and the warehouse marts.

Each suite is a GX ``ExpectationSuite`` JSON whose ``meta.onegrid`` says what batch it validates:

- ``{"batch": "warehouse", "query": "SELECT ..."}``: a query on the DuckDB warehouse, opened
  read-only (dbt is the only writer); the result is validated as a pandas batch.
- ``{"batch": "bronze", "source": s, "table": t, "query": "SELECT ... FROM bronze"}``: the
  latest delivery of a bronze table, read with polars, queried in an in-memory DuckDB.
- ``{"batch": "builtin", "name": "row_accounting" | "freshness" | "change_grid_residents" |
  "change_table_rows"}``: a small frame computed here (ledger, bronze and quarantine row
  counts; last delivery per source; the previous ``CURRENT`` snapshot).

Queries may use ``${param}`` (city bounds, today...) and ``${ID_CHECK_OK:col}`` (GB 11643 check
character verified in SQL). Expectation ``severity`` ``critical`` makes the suite blocking;
``warning`` does not block. Results are counts only: GX runs with ``SUMMARY`` and
``partial_unexpected_count: 0``, and only numeric fields are kept, so no failing value (an
identity number, a name) ever reaches a result, a log or a report.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipelines import config

log = logging.getLogger(__name__)

RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
}
NUMERIC_RESULT_KEYS = ("element_count", "unexpected_count", "unexpected_percent",
                       "missing_count", "observed_value")
CHINA_BOUNDS = {"lon_min": 73.0, "lon_max": 136.0, "lat_min": 3.0, "lat_max": 54.0}
FRESHNESS_DEFAULT_HOURS = {"grid": 24 * 400, "household": 24 * 45, "housing": 24 * 45,
                           "party": 24 * 45, "incident": 24 * 3}
CHANGE_MAX_SHARE_ENV = "ONEGRID_CHANGE_MAX_SHARE"        # residents per grid, default 0.2
CHANGE_MIN_BASE_ENV = "ONEGRID_CHANGE_MIN_BASE"          # ignore grids below this many residents
TABLE_CHANGE_MAX_SHARE_ENV = "ONEGRID_TABLE_CHANGE_MAX_SHARE"  # rows per table, default 0.5

# The quality area's own asset for checks that are not about one mart.
BRONZE_AUDIT_KEY = ("quality", "bronze")


# --- suites -----------------------------------------------------------------------------
@dataclass
class Suite:
    name: str
    path: Path
    doc: dict
    meta: dict

    @property
    def asset_key(self) -> list[str]:
        return list(self.meta.get("asset_key") or BRONZE_AUDIT_KEY)

    @property
    def blocking(self) -> bool:
        return any(e.get("severity", "critical") == "critical" for e in self.doc["expectations"])

    @property
    def source(self) -> str:
        return self.meta.get("source") or "warehouse"

    @property
    def description(self) -> str:
        return self.meta.get("description", "")

    @property
    def batch(self) -> str:
        """Where the batch comes from: "warehouse" (the suite's query), "bronze", or the name
        of a frame built in code (row accounting, freshness, the change suites, open tier)."""
        return self.meta.get("batch", "warehouse")

    @property
    def reads_warehouse(self) -> bool:
        return self.batch == "warehouse" or self.meta.get("name") in WAREHOUSE_FRAMES


# suites whose frame is built in code from the warehouse
WAREHOUSE_FRAMES = ("change_grid_residents", "change_table_rows", "open_tier_identifiers")


def load_suites(directory: Path | None = None) -> list[Suite]:
    directory = directory or config.EXPECTATIONS_DIR
    out = []
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        meta = (doc.get("meta") or {}).get("onegrid") or {}
        out.append(Suite(name=doc["name"], path=path, doc=doc, meta=meta))
    return out


def get_suite(name: str, directory: Path | None = None) -> Suite:
    for s in load_suites(directory):
        if s.name == name:
            return s
    raise KeyError(name)


# --- GX ---------------------------------------------------------------------------------
_GX_LOCK = threading.Lock()


def prewarm() -> None:
    """Import GX and create its context ahead of the first suite (3 s here), e.g. in a thread
    while dbt builds the warehouse in its own process."""
    _gx_batch_definition()


def _gx_batch_definition():
    with _GX_LOCK:
        return _gx_batch_definition_once()


@lru_cache(maxsize=1)
def _gx_batch_definition_once():
    """One ephemeral GX context per process (nothing is written into the repository)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    try:
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # noqa: BLE001, S110 - cosmetic only
        pass
    ds = ctx.data_sources.add_pandas("onegrid_frames")
    asset = ds.add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def _gx_suite(suite: Suite):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    gsuite = gx.ExpectationSuite(name=suite.name)
    for e in suite.doc["expectations"]:
        gsuite.add_expectation_configuration(
            ExpectationConfiguration(
                type=e["type"], kwargs=e["kwargs"], meta=e.get("meta") or {},
                severity=e.get("severity", "critical"),
            )
        )
    return gsuite


def _columns_of(kwargs: dict) -> list[str]:
    cols = []
    for k in ("column", "column_A", "column_B"):
        if k in kwargs:
            cols.append(kwargs[k])
    cols += list(kwargs.get("column_list") or [])
    return cols


def validate_frame(suite: Suite, df, params: dict | None = None) -> list[dict]:
    """Validate a pandas frame with a suite; one dict of counts per expectation."""
    from great_expectations.validator.v1_validator import Validator

    runnable, missing = [], []
    for e in suite.doc["expectations"]:
        absent = [c for c in _columns_of(e["kwargs"]) if c not in df.columns]
        (missing if absent else runnable).append((e, absent))
    out = []
    if runnable:
        sub = Suite(suite.name, suite.path, {**suite.doc, "expectations": [e for e, _ in runnable]},
                    suite.meta)
        # what Batch.validate and ValidationDefinition.run do, loading the frame once: GX
        # fingerprints every row of a frame it loads (10M residents, mart_dim_person: 1.4 s),
        # and taking a Batch first to call its validate() loaded it twice
        validator = Validator(batch_definition=_gx_batch_definition(),
                              result_format=RESULT_FORMAT, batch_parameters={"dataframe": df})
        res = validator.validate_expectation_suite(_gx_suite(sub),
                                                   expectation_parameters=params or {})
        for (e, _), r in zip(runnable, res.results):
            out.append(_expectation_outcome(suite, e, r.success, r.result or {},
                                            (r.exception_info or {}).get("raised_exception")))
    for e, absent in missing:
        o = _expectation_outcome(suite, e, False, {}, False)
        o["detail"] = f"column(s) missing from the batch: {', '.join(absent)}"
        out.append(o)
    order = {id(e): i for i, e in enumerate(suite.doc["expectations"])}
    out.sort(key=lambda o: order.get(o.pop("_id"), 0))
    return out


def _expectation_outcome(suite: Suite, e: dict, success: bool, result: dict,
                         raised: bool) -> dict:
    meta = e.get("meta") or {}
    kw = e["kwargs"]
    numbers = {k: result[k] for k in NUMERIC_RESULT_KEYS
               if k in result and isinstance(result[k], (int, float)) and k != "observed_value"}
    obs = result.get("observed_value")
    if isinstance(obs, (int, float)) and not isinstance(obs, bool):
        numbers["observed_value"] = obs
    rule = f"{suite.name}.{meta.get('rule') or e['type']}"
    desc = meta.get("description") or e["type"]
    if success:
        detail = ""
    elif raised:
        detail = f"{desc}: the expectation could not be evaluated"
    elif "unexpected_count" in numbers:
        detail = (f"{desc}: {numbers['unexpected_count']} of {numbers.get('element_count', '?')}"
                  f" rows unexpected")
    else:
        detail = f"{desc}: failed"
    return {
        "_id": id(e),
        "rule": rule,
        "type": e["type"],
        "column": ", ".join(_columns_of(kw)) or None,
        "mostly": kw.get("mostly"),
        "severity": e.get("severity", "critical"),
        "description": desc,
        "success": bool(success),
        "issues_rules": list(meta.get("issues_rules") or []),
        "detail": detail,
        **numbers,
    }


# --- batches ----------------------------------------------------------------------------
def _id_check_sql(col: str, n: str | None = None) -> str:
    """GB 11643 check character in SQL, digits by integer arithmetic on the first 17
    characters as one BIGINT. ``n``: a column already holding
    ``TRY_CAST(substr(col, 1, 17) AS BIGINT)`` (fastest); without it a lambda binds it once."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    var = n or "n"
    total = " + ".join(f"(({var} // {10 ** (16 - i)}) % 10) * {w}"
                       for i, w in enumerate(weights))
    expected = f"substr('10X98765432', (({total}) % 11)::INTEGER + 1, 1)"
    if n is None:
        expected = (f"list_transform([TRY_CAST(substr({col}, 1, 17) AS BIGINT)], "
                    f"lambda n: {expected})[1]")
    return (f"(CASE WHEN {col} IS NULL THEN NULL ELSE "
            f"coalesce({expected} = substr({col}, 18, 1), false) END)")


def render_query(query: str, params: dict) -> str:
    query = re.sub(r"\$\{ID_CHECK_OK:([A-Za-z_][A-Za-z0-9_.]*)(?::([A-Za-z_][A-Za-z0-9_]*))?\}",
                   lambda m: _id_check_sql(m.group(1), m.group(2)), query)

    def sub(m):
        key = m.group(1)
        if key not in params:
            raise KeyError(f"unknown query parameter {key}")
        v = params[key]
        return repr(v) if isinstance(v, (int, float)) else f"'{v}'"

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, query)


def connect_warehouse(warehouse: Path | None = None, attempts: int = 20):
    """Read-only connection; waits while dbt (the only writer) holds the file lock."""
    import duckdb

    path = str(warehouse or config.warehouse_path())
    for i in range(attempts):
        try:
            con = duckdb.connect(path, read_only=True)
            con.execute("SET enable_progress_bar = false")
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or i == attempts - 1:
                raise
            time.sleep(min(0.5 * (i + 1), 3))
    raise RuntimeError("unreachable")


def latest_bronze_delivery(source: str, table: str) -> tuple[str, Path] | None:
    base = config.bronze_dir() / source / table
    parts = sorted(p for p in base.glob("delivery_id=*") if p.is_dir()) if base.exists() else []
    if not parts:
        return None
    return parts[-1].name.split("=", 1)[1], parts[-1]


def city_bounds() -> dict:
    """Bounding box of the grid base map (latest grid delivery), with a small margin."""
    found = latest_bronze_delivery("grid", "grids")
    if found:
        try:
            import polars as pl

            wkt = pl.read_parquet(found[1], columns=["geometry_wkt"])["geometry_wkt"]
            nums = wkt.str.extract_all(r"-?\d+\.?\d*").explode().cast(pl.Float64)
            lons, lats = nums.gather_every(2), nums.gather_every(2, offset=1)
            if len(lons) and len(lats):
                m = 0.05
                return {"lon_min": float(lons.min()) - m, "lon_max": float(lons.max()) + m,
                        "lat_min": float(lats.min()) - m, "lat_max": float(lats.max()) + m}
        except Exception:  # noqa: BLE001 - the geometry is the ingestion's: fall back to China
            log.warning("city bounds could not be read from the grid base map")
    return dict(CHINA_BOUNDS)


def default_params() -> dict:
    city = city_bounds()
    today = _dt.date.today()
    return {
        "today": today.isoformat(),
        "tomorrow": (today + _dt.timedelta(days=1)).isoformat(),
        **{f"china_{k}": v for k, v in CHINA_BOUNDS.items()},
        **{f"city_{k}": v for k, v in city.items()},
    }


def _parquet_rows(paths) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)


def _rows_in(doc: dict):
    """Rows delivered: the manifest's row counts per file (ledger ``files[].rows_manifest``)."""
    files = doc.get("files")
    for key in ("rows_manifest", "rows", "rows_in"):
        if isinstance(files, list) and files and all(isinstance(f.get(key), int) for f in files):
            return sum(f[key] for f in files)
    for key in ("rows_in", "rows"):
        if isinstance(doc.get(key), int):
            return doc[key]
    return None


def _accepted(doc: dict) -> bool:
    return not str(doc.get("status", "accepted")).startswith(("reject", "noop", "skip",
                                                             "duplicate", "conflict"))


def frame_row_accounting():
    """One row per accepted delivery: rows in (ledger) vs rows in bronze + quarantined."""
    import pandas as pd

    from pipelines.ingestion import ledger_entries  # lazy: keeps definition load light

    rows = []
    for doc in ledger_entries():
        if not _accepted(doc):
            continue
        src, did = doc["source"], str(doc["delivery_id"])
        bronze = list(config.bronze_dir().glob(f"{src}/*/delivery_id={did}/*.parquet"))
        quarantine = list(config.quarantine_dir().glob(f"{src}/delivery_id={did}/*.parquet"))
        if not bronze and not quarantine and doc.get("status") not in (None, "accepted",
                                                                       "loaded"):
            continue
        nb, nq = _parquet_rows(bronze), _parquet_rows(quarantine)
        # incident steps are derived rows (one per 流转记录 step), not delivered rows
        derived = list(config.bronze_dir().glob(f"{src}/steps/delivery_id={did}/*.parquet"))
        nb -= _parquet_rows(derived)
        rows.append({"source": src, "delivery_id": did, "rows_in": _rows_in(doc),
                     "rows_bronze": nb, "rows_quarantined": nq, "rows_accounted": nb + nq})
    return pd.DataFrame(rows, columns=["source", "delivery_id", "rows_in", "rows_bronze",
                                       "rows_quarantined", "rows_accounted"]).astype(
        {"rows_in": "Int64", "rows_bronze": "Int64", "rows_quarantined": "Int64",
         "rows_accounted": "Int64"})


def _parse_ts(value) -> _dt.datetime | None:
    if not value:
        return None
    try:
        ts = _dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=_dt.timezone(_dt.timedelta(hours=8)))


def frame_freshness():
    """One row per source: hours between its last accepted delivery and the newest one."""
    import pandas as pd

    from pipelines.ingestion import ledger_entries  # lazy: keeps definition load light

    last: dict[str, tuple[str, _dt.datetime | None]] = {}
    for doc in ledger_entries():
        if not _accepted(doc):
            continue
        src, did = doc["source"], str(doc["delivery_id"])
        if src not in last or did > last[src][0]:
            last[src] = (did, _parse_ts(doc.get("extracted_at")))
    stamps = [ts for _, ts in last.values() if ts]
    newest = max(stamps) if stamps else None
    rows = []
    for src in config.SOURCES:
        did, ts = last.get(src, (None, None))
        limit = float(os.environ.get(f"ONEGRID_FRESHNESS_HOURS_{src.upper()}",
                                     FRESHNESS_DEFAULT_HOURS.get(src, 24 * 45)))
        lag = (newest - ts).total_seconds() / 3600 if (ts and newest) else None
        rows.append({"source": src, "last_delivery_id": did, "lag_hours": lag,
                     "max_lag_hours": limit, "delivered": did is not None,
                     "fresh": None if lag is None else bool(lag <= limit)})
    return pd.DataFrame(rows)


def frame_change_delivery_rows():
    """Per source: rows of its latest full delivery vs the previous full delivery."""
    import pandas as pd

    from pipelines.ingestion import ledger_entries  # lazy: keeps definition load light

    share = float(os.environ.get("ONEGRID_DELIVERY_CHANGE_MAX_SHARE", "0.2"))
    fulls: dict[str, list[tuple[str, int | None]]] = {}
    for doc in ledger_entries():
        if _accepted(doc) and doc.get("kind") == "full" and "~" not in str(doc["delivery_id"]):
            fulls.setdefault(doc["source"], []).append((str(doc["delivery_id"]), _rows_in(doc)))
    rows = []
    for src, items in sorted(fulls.items()):
        items.sort()
        if len(items) < 2:
            continue
        (pid, prev), (lid, last) = items[-2], items[-1]
        ok = None if prev is None or last is None else abs(last - prev) <= share * max(prev, 1)
        rows.append({"source": src, "previous_delivery_id": pid, "delivery_id": lid,
                     "rows_prev": prev, "rows_now": last, "within_limit": ok})
    cols = ["source", "previous_delivery_id", "delivery_id", "rows_prev", "rows_now",
            "within_limit"]
    note = None if rows else "no source has two full deliveries yet: nothing to compare"
    return pd.DataFrame(rows, columns=cols), note


ID18_IN_TEXT = r"(?:^|[^0-9A-Za-z])([0-9]{17}[0-9Xx])(?:[^0-9A-Za-z]|$)"
MOBILE_IN_TEXT = r"(^|[^0-9A-Za-z])1[3-9][0-9]{9}([^0-9A-Za-z]|$)"


# A column whose first rows repeat their values this much (distinct / rows) is tested once per
# distinct value, weighted by its rows (codes, categories, grid codes); others once per row.
OPEN_TIER_DISTINCT_RATIO = 0.2
OPEN_TIER_SAMPLE_ROWS = 20_000


def _open_tier_flag(value: str) -> str:
    """SQL: 0 clean, 1 holds an identity number (18 characters, right GB 11643 check character),
    2 holds a mobile number standing alone, 3 both. One cheap test first: both kinds hold a run
    of 11 digits and most values hold none; only those that do get the precise tests. CASE, not
    AND: an aggregate's FILTER evaluates both sides of an AND for every row."""
    check = _id_check_sql("x")
    return (f"CASE WHEN regexp_matches({value}, '[0-9]{{11}}') THEN "
            f"(CASE WHEN NOT regexp_matches({value}, '[0-9]{{17}}') THEN 0 "
            f"WHEN len(list_filter(regexp_extract_all({value}, '{ID18_IN_TEXT}', 1), "
            f"lambda x: {check})) > 0 THEN 1 ELSE 0 END) + "
            f"(CASE WHEN regexp_matches({value}, '{MOBILE_IN_TEXT}') THEN 2 ELSE 0 END) "
            f"ELSE 0 END")


def frame_open_tier_identifiers(con):
    """One row per text column of every open mart: how many values hold an identity number or
    a mobile number standing alone."""
    import pandas as pd

    cols = con.execute(
        """
        SELECT table_name, column_name FROM duckdb_columns()
         WHERE database_name = current_database() AND schema_name = 'marts'
           AND data_type = 'VARCHAR' ORDER BY table_name, column_index
        """
    ).fetchall()
    by_table: dict[str, list[str]] = {}
    for t, c in cols:
        by_table.setdefault(t, []).append(c)
    rows = []
    for table, columns in by_table.items():
        quoted = ['"' + c.replace('"', '""') + '"' for c in columns]
        source = f'marts."{table}"'
        # which columns repeat their values: judged on the first rows (only the speed of the
        # test depends on it, never its result)
        sample = con.execute(
            f"SELECT count(*), {', '.join(f'count(DISTINCT {q})' for q in quoted)} "
            f"FROM (SELECT * FROM {source} LIMIT {OPEN_TIER_SAMPLE_ROWS})").fetchone()
        repeating = {i for i in range(len(columns))
                     if sample[0] and sample[i + 1] <= OPEN_TIER_DISTINCT_RATIO * sample[0]}
        counts: dict[int, tuple[int, int]] = {}
        per_row = [i for i in range(len(columns)) if i not in repeating]
        if per_row:
            flags = ", ".join(f"{_open_tier_flag(quoted[i])} AS f{i}" for i in per_row)
            parts = ", ".join(f"count(*) FILTER (WHERE f{i} IN (1, 3)), "
                              f"count(*) FILTER (WHERE f{i} >= 2)" for i in per_row)
            got = con.execute(f"SELECT {parts} FROM (SELECT {flags} FROM {source})").fetchone()
            for k, i in enumerate(per_row):
                counts[i] = (got[2 * k], got[2 * k + 1])
        for i in sorted(repeating):
            got = con.execute(
                f"SELECT coalesce(sum(n) FILTER (WHERE f IN (1, 3)), 0), "
                f"coalesce(sum(n) FILTER (WHERE f >= 2), 0) "
                f"FROM (SELECT {_open_tier_flag('v')} AS f, n "
                f"FROM (SELECT {quoted[i]} AS v, count(*) AS n FROM {source} GROUP BY 1))"
            ).fetchone()
            counts[i] = (int(got[0]), int(got[1]))
        for i, c in enumerate(columns):
            ids, phones = counts[i]
            rows.append({"table_name": table, "column_name": c, "id_number_values": ids,
                         "mobile_values": phones, "no_id_numbers": ids == 0,
                         "no_mobiles": phones == 0})
    return pd.DataFrame(rows, columns=["table_name", "column_name", "id_number_values",
                                       "mobile_values", "no_id_numbers", "no_mobiles"]), None


def _previous_table(name: str):
    from pipelines.publish import read_current

    cur = read_current()
    if cur is None or name not in cur[1].get("tables", {}):
        return None, cur
    return cur[0] / cur[1]["tables"][name]["path"], cur


def frame_change_grid_residents(con):
    """Residents per grid now (warehouse) vs the current published snapshot."""
    import pandas as pd

    path, _ = _previous_table("mart_grid_profile")
    share = float(os.environ.get(CHANGE_MAX_SHARE_ENV, "0.2"))
    base = float(os.environ.get(CHANGE_MIN_BASE_ENV, "20"))
    cols = ["grid_code", "residents_prev", "residents_now", "change_share", "within_limit"]
    if path is None:
        return pd.DataFrame(columns=cols), "no previous snapshot: nothing to compare"
    df = con.execute(
        f"""
        WITH prev AS (SELECT grid_code, residents FROM read_parquet('{path.as_posix()}')),
             now AS (SELECT grid_code, residents FROM marts.mart_grid_profile)
        SELECT coalesce(now.grid_code, prev.grid_code) AS grid_code,
               prev.residents AS residents_prev, now.residents AS residents_now,
               abs(coalesce(now.residents, 0) - coalesce(prev.residents, 0))
                 / greatest(coalesce(prev.residents, 0), 1) AS change_share,
               CASE WHEN greatest(coalesce(prev.residents, 0), coalesce(now.residents, 0)) < {base}
                    THEN true
                    ELSE abs(coalesce(now.residents, 0) - coalesce(prev.residents, 0))
                         <= {share} * greatest(coalesce(prev.residents, 0), 1) END AS within_limit
          FROM now FULL OUTER JOIN prev USING (grid_code)
        """
    ).df()
    return df, None


def frame_change_table_rows(con):
    """Rows per published table now vs the current snapshot's manifest."""
    import pandas as pd

    from pipelines.publish import read_current

    cur = read_current()
    share = float(os.environ.get(TABLE_CHANGE_MAX_SHARE_ENV, "0.5"))
    cols = ["table_name", "rows_prev", "rows_now", "within_limit"]
    if cur is None:
        return pd.DataFrame(columns=cols), "no previous snapshot: nothing to compare"
    rows = []
    for name, entry in cur[1]["tables"].items():
        schema = "marts_restricted" if entry.get("tier") == "restricted" else "marts"
        try:
            now = con.execute(f'SELECT count(*) FROM {schema}."{name}"').fetchone()[0]
        except Exception:  # noqa: BLE001 - a table gone from the warehouse: no comparison
            now = None
        prev = entry.get("rows")
        ok = None if now is None else abs(now - prev) <= share * max(prev, 1)
        rows.append({"table_name": name, "rows_prev": prev, "rows_now": now,
                     "within_limit": ok})
    return pd.DataFrame(rows, columns=cols), None


# --- running ----------------------------------------------------------------------------
def _warehouse_frame(suite: Suite, params: dict, con):
    """The batch (pandas frame) and note of a suite that reads the warehouse."""
    meta = suite.meta
    if suite.batch == "warehouse":
        return con.execute(render_query(meta["query"], params)).df(), None
    if meta["name"] == "change_grid_residents":
        return frame_change_grid_residents(con)
    if meta["name"] == "open_tier_identifiers":
        return frame_open_tier_identifiers(con)
    return frame_change_table_rows(con)


def _prefetchable(suite: Suite) -> bool:
    # the warehouse alone decides these batches (the change suites also read the current
    # snapshot, which publishing moves)
    return suite.batch == "warehouse" or suite.meta.get("name") == "open_tier_identifiers"


def _batch_key(suite: Suite, params: dict) -> str:
    query = suite.meta.get("query")
    return suite.name + "\n" + (render_query(query, params) if query else "")


_PREFETCH_LOCK = threading.Lock()
_PREFETCH: dict = {"run": None, "futures": {}}


def prefetch_warehouse_batches(run_id: str, suites: list[Suite],
                               params: dict | None = None) -> None:
    """Compute the batches of these warehouse suites ahead, one after another in a background
    thread, once per run (later calls for the same run do nothing).

    A check spends its time in two parts: the batch's SQL, which DuckDB runs in its own
    threads, and the GX validation, which is Python and holds one core. Run one after the other
    they leave a core idle half the time; so the next suites' SQL runs while a suite
    validates. ``run_suite`` takes a prefetched batch when it is there (waiting for it when it
    is being computed) and computes the batch itself when it is not; either way the batch is
    the same query on the same finished warehouse (the checks run after the dbt build)."""
    from concurrent.futures import Future

    params = params if params is not None else default_params()
    todo = [s for s in suites if _prefetchable(s)]
    jobs = [(s, Future()) for s in todo]
    with _PREFETCH_LOCK:
        if _PREFETCH["run"] == run_id:
            return
        # the checks take (pop) their futures from this dict; the worker keeps its own list
        _PREFETCH.update(run=run_id, futures={_batch_key(s, params): f for s, f in jobs})
    if not todo or not config.warehouse_path().exists():
        return

    def work() -> None:
        con = None
        try:
            con = connect_warehouse()
            for i, (s, fut) in enumerate(jobs):
                if not fut.set_running_or_notify_cancel():
                    continue  # its check came first and computed the batch itself
                try:
                    batch = _warehouse_frame(s, params, con)
                    if i == len(jobs) - 1:
                        con.close()  # before the last check goes on to anything that writes
                        con = None
                except Exception as exc:  # noqa: BLE001 - the check reports it
                    fut.set_exception(exc)
                    continue
                fut.set_result(batch)
        except Exception as exc:  # noqa: BLE001 - no connection: every check computes its own
            for _, fut in jobs:
                if not fut.cancel() and not fut.done():
                    fut.set_exception(exc)
        finally:
            if con is not None:
                con.close()

    threading.Thread(target=work, name="gx-batches", daemon=True).start()


def _take_prefetched(run_id: str | None, suite: Suite, params: dict):
    """The prefetched (batch, note) of this suite in this run, or None."""
    if run_id is None:
        return None
    with _PREFETCH_LOCK:
        if _PREFETCH["run"] != run_id:
            return None
        fut = _PREFETCH["futures"].pop(_batch_key(suite, params), None)
    if fut is None or fut.cancel():  # not prefetched, or not started yet: compute it here
        return None
    return fut.result()


def run_suite(suite: Suite, params: dict | None = None, con=None,
              run_id: str | None = None) -> dict:
    """Run one suite; returns its outcome (counts only, JSON-serialisable)."""
    started = time.perf_counter()
    meta = suite.meta
    outcome = {
        "check": suite.name, "suite": suite.name, "asset_key": suite.asset_key,
        "source": suite.source, "blocking": suite.blocking, "description": suite.description,
        "delivery_id": None, "rows": None, "note": None, "error": None,
        "expectations": [],
    }
    own_con = None
    try:
        params = params if params is not None else default_params()
        kind = suite.batch
        df, note = None, None
        if suite.reads_warehouse:
            batch = _take_prefetched(run_id, suite, params)
            if batch is None:
                if con is None:
                    if not config.warehouse_path().exists():
                        raise FileNotFoundError("warehouse not built")
                    con = own_con = connect_warehouse()
                batch = _warehouse_frame(suite, params, con)
            df, note = batch
        elif kind == "bronze":
            import duckdb
            import polars as pl

            found = latest_bronze_delivery(meta["source"], meta["table"])
            if found is None:
                note = "no accepted delivery of this table yet"
            else:
                outcome["delivery_id"], folder = found
                bronze = pl.read_parquet(folder)
                mem = duckdb.connect()
                mem.execute("SET enable_progress_bar = false")
                mem.register("bronze", bronze)
                df = mem.execute(render_query(meta["query"], params)).df()
                mem.close()
        elif meta.get("name") == "row_accounting":
            df = frame_row_accounting()
        elif meta.get("name") == "freshness":
            df = frame_freshness()
        elif meta.get("name") == "change_delivery_rows":
            df, note = frame_change_delivery_rows()
        else:
            raise ValueError(f"unknown batch kind in suite {suite.name}")
        outcome["note"] = note
        if df is not None:
            outcome["rows"] = len(df)
            if len(df) or note is None:
                outcome["expectations"] = validate_frame(suite, df, params)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, without values
        outcome["error"] = f"{type(exc).__name__}: {_safe_message(exc)}"
    finally:
        if own_con is not None:
            own_con.close()
    failed = [e for e in outcome["expectations"] if not e["success"]]
    crit = [e for e in failed if e["severity"] == "critical"]
    if outcome["error"]:
        outcome["passed"] = False
        outcome["severity"] = "error" if suite.blocking else "warning"
    else:
        outcome["passed"] = not failed
        outcome["severity"] = "error" if crit else ("warning" if failed else "ok")
    outcome["seconds"] = round(time.perf_counter() - started, 3)
    return outcome


_ID_LIKE = re.compile(r"\d{11,}[\dXx]?")


def _safe_message(exc: Exception) -> str:
    """An exception message with long digit runs (possible identifiers) masked."""
    return _ID_LIKE.sub("<digits>", str(exc))[:300]


# --- results of a run -------------------------------------------------------------------
def results_dir(run_id: str) -> Path:
    return config.reports_dir() / ".runs" / run_id


KEEP_RUNS = 20


def _prune_runs(keep: int = KEEP_RUNS) -> None:
    base = config.reports_dir() / ".runs"
    runs = sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[:-keep]:
        for f in old.iterdir():
            f.unlink()
        old.rmdir()


def save_outcome(run_id: str, outcome: dict) -> Path:
    d = results_dir(run_id)
    if not d.exists():
        d.mkdir(parents=True, exist_ok=True)
        try:
            _prune_runs()
        except OSError:
            pass
    path = d / f"{outcome['check']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(outcome, ensure_ascii=False, indent=1, default=str))
    os.replace(tmp, path)
    return path


def load_run(run_id: str) -> dict:
    d = results_dir(run_id)
    checks = []
    for p in sorted(d.glob("*.json")) if d.exists() else []:
        if p.name.startswith("_"):
            continue
        try:
            checks.append(json.loads(p.read_text()))
        except json.JSONDecodeError:
            continue
    return {"run_id": run_id, "checks": checks}


def run_checks(run_id: str | None = None, suites: list[Suite] | None = None,
               write_reports: bool = True) -> dict:
    """Run every suite (outside Dagster: benchmarks, the engine API); save and report."""
    run_id = run_id or f"local-{uuid.uuid4().hex[:12]}"
    suites = suites if suites is not None else load_suites()
    params = default_params()
    prefetch_warehouse_batches(run_id, suites, params)
    con = connect_warehouse() if config.warehouse_path().exists() else None
    try:
        for s in suites:
            save_outcome(run_id, run_suite(s, params, con, run_id=run_id))
    finally:
        if con is not None:
            con.close()
    if write_reports:
        from pipelines.quality.reports import write_reports as _write

        _write(run_id)
    return load_run(run_id)
