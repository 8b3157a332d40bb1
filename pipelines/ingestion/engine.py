"""The ingestion engine: one delivery from the landing root into bronze, or a rejection.

    ingest_delivery(source, delivery_id, landing=None) -> DeliveryResult
    ingest_pending(landing=None, sources=None, up_to=None, workers=None) -> list[DeliveryResult]
    ingest_source(source, up_to, landing=None, isolate=None) -> list[DeliveryResult]

Layout and schemas: docs/ARCHITECTURE.md. Nothing is ever written into the landing root; a
delivery reaches ``bronze/`` only whole (written under ``bronze/.tmp/`` and renamed into place
after every file passed). Every processed delivery leaves ``ledger/<source>/<id>.json``;
findings go to ``issues/``, unloadable rows (as delivered) to ``quarantine/``.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from pipelines import config
from pipelines.ingestion import readers
from pipelines.ingestion.transform import Ctx, Prepared, transform
from pipelines.lib.contract import SOURCE_SPECS
from pipelines.lib.keys import keyed_hash_series
from pipelines.lib.manifest import (
    MANIFEST_NAME,
    ContractError,
    Manifest,
    fingerprint,
    list_deliveries,
    read_manifest,
    sha256_file,
)

ISSUE_SCHEMA = {
    "source": pl.String, "delivery_id": pl.String, "file": pl.String, "row_number": pl.Int64,
    "source_record_id": pl.String, "rule": pl.String, "severity": pl.String,
    "action": pl.String, "detail": pl.String,
}
LOCAL_TZ = _dt.timezone(_dt.timedelta(hours=8))

# bronze column order per table (lineage appended)
BRONZE_COLUMNS = {
    "persons": ["record_id", "name", "gender", "ethnicity", "birth_date", "household_no",
                "relation", "registered_address", "current_address", "residency_status",
                "phone", "change_type", "change_date", "id_number", "id_status", "id_hash",
                "household_key"],
    "members": ["record_id", "name", "gender", "birth_date", "ethnicity", "education",
                "joined_date", "full_member_date", "member_category", "member_status",
                "org_code", "employer", "home_address", "dual_registration_community", "phone",
                "change_type", "id_number", "id_status", "id_hash"],
    "orgs": ["record_id", "org_name", "org_type", "parent_org_code", "covered_grid_codes",
             "secretary", "founded_date", "change_type"],
    "houses": ["record_id", "district_name", "street_name", "community_name", "compound",
               "address", "building", "unit", "floor", "room", "floor_area_m2", "use",
               "status", "owner_name", "owner_id_number", "owner_id_status", "owner_id_hash",
               "property_company", "lon", "lat", "change_type"],
    "grids": ["grid_code", "grid_name", "grid_type", "community_code", "community_name",
              "street_code", "street_name", "district_code", "district_name", "grid_worker",
              "grid_worker_phone", "geometry_wkt"],
    "legacy_grid_map": ["legacy_system", "legacy_code", "grid_code"],
    "events": ["record_id", "channel", "reported_at", "category_major", "category_minor",
               "description", "address", "lon", "lat", "crs", "lon_wgs84", "lat_wgs84",
               "legacy_system", "legacy_code", "time_limit_hours", "status", "satisfaction"],
    "steps": ["record_id", "step_seq", "step", "step_at", "department"],
}
LINEAGE = ["_source", "_delivery_id", "_delivery_kind", "_extracted_at", "_file",
           "_row_number", "_record_key", "_invalid_fields"]


# --- results ------------------------------------------------------------------------------
@dataclass
class FileResult:
    name: str
    table: str
    rows_manifest: int
    rows_in: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    rows_flagged: int = 0

    @property
    def accounted(self) -> bool:
        return self.rows_in == self.rows_bronze + self.rows_quarantined


@dataclass
class DeliveryResult:
    source: str
    delivery_id: str
    status: str                      # accepted | rejected | unchanged-resend
    reason: str | None = None
    kind: str | None = None
    extracted_at: str | None = None
    fingerprint: str | None = None
    files: list[FileResult] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)   # bronze rows per table
    issues: int = 0
    issues_file: str | None = None
    processed_at: str | None = None
    seconds: float | None = None

    @property
    def accepted(self) -> bool:
        return self.status in ("accepted", "unchanged-resend")

    @property
    def accounted(self) -> bool:
        return all(f.accounted for f in self.files)

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def rows_bronze(self) -> int:
        return sum(f.rows_bronze for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def to_json(self) -> dict:
        d = asdict(self)
        d["accounted"] = self.accounted
        return d

    @classmethod
    def from_json(cls, d: dict) -> "DeliveryResult":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["files"] = [FileResult(**f) for f in d.get("files", [])]
        return cls(**d)


# --- configuration -----------------------------------------------------------------------
def config_path() -> Path:
    env = os.environ.get("ONEGRID_INGESTION_CONFIG")
    return Path(env) if env else config.PROJECT_ROOT / "config" / "ingestion.yaml"


def load_aliases(source: str) -> dict[str, str]:
    """Operator-configured column aliases for a source: delivered name → contract name."""
    path = config_path()
    if not path.exists():
        return {}
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    got = (doc.get("aliases") or {}).get(source) or {}
    return {str(k).strip(): str(v).strip() for k, v in got.items()}


# --- ledger ------------------------------------------------------------------------------
def ledger_path(source: str, delivery_id: str) -> Path:
    return config.ledger_dir() / source / f"{delivery_id}.json"


def read_ledger(source: str) -> dict[str, DeliveryResult]:
    """The standing outcome per delivery_id of a source (conflicting resends excluded)."""
    d = config.ledger_dir() / source
    out: dict[str, DeliveryResult] = {}
    if d.is_dir():
        for p in d.glob("*.json"):
            if "~" in p.stem:
                continue
            try:
                out[p.stem] = DeliveryResult.from_json(json.loads(p.read_text(encoding="utf-8")))
            except (ValueError, TypeError):
                continue
    return out


def ledger_entries() -> list[dict]:
    """Every ledger document of every source, conflicting resends included, in path order.

    Each has at least ``source``, ``delivery_id`` and ``status`` (accepted / rejected)."""
    out = []
    ldir = config.ledger_dir()
    for path in sorted(ldir.glob("*/*.json")) if ldir.exists() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        doc.setdefault("source", path.parent.name)
        doc.setdefault("delivery_id", path.stem.split("~")[0])
        out.append(doc)
    return out


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    df.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
    os.replace(tmp, path)


@contextmanager
def _source_lock(source: str):
    d = config.ledger_dir() / source
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- helpers -----------------------------------------------------------------------------
def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _extracted(manifest: Manifest) -> tuple[_dt.datetime, _dt.date]:
    """(UTC instant, local date) of the manifest's extracted_at; ContractError if unusable."""
    try:
        ts = _dt.datetime.fromisoformat(manifest.extracted_at.replace("Z", "+00:00"))
    except ValueError:
        raise ContractError(manifest.where, "extracted_at is not an ISO 8601 timestamp") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=LOCAL_TZ)
    return ts.astimezone(_dt.timezone.utc), ts.astimezone(LOCAL_TZ).date()


def _issue_frame(rows: pl.DataFrame, source: str, delivery_id: str, file: str | None,
                 action: str) -> pl.DataFrame:
    return rows.select(
        pl.lit(source).alias("source"), pl.lit(delivery_id).alias("delivery_id"),
        pl.lit(file, dtype=pl.String).alias("file"),
        pl.col("_row_number").cast(pl.Int64).alias("row_number"),
        pl.col("source_record_id").cast(pl.String),
        pl.col("rule").cast(pl.String), pl.col("severity").cast(pl.String),
        pl.lit(action).alias("action"), pl.col("detail").cast(pl.String))


def _add_keys(df: pl.DataFrame, keyspecs: list[tuple[str, pl.Expr, str]],
              unique: tuple[str, ...] = ()) -> pl.DataFrame:
    """Keyed hashes (``lib.keys``). Columns named in ``unique`` are hashed once per
    distinct value and joined back."""
    if not keyspecs:
        return df
    out = []
    for name, expr, domain in keyspecs:
        vals = df.select(expr.cast(pl.String).alias("v"))
        if name in unique:
            distinct = vals.unique().drop_nulls()
            hashed = distinct.with_columns(keyed_hash_series(distinct["v"], domain).alias("k"))
            out.append(vals.join(hashed, on="v", how="left", maintain_order="left")["k"]
                       .alias(name))
        else:
            out.append(keyed_hash_series(vals["v"], domain).alias(name))
    return df.with_columns(out)


def _prior_record_ids(source: str, table: str, before: str,
                      among: pl.Series | None = None) -> pl.DataFrame:
    """Record ids present in accepted bronze of a table since its latest full delivery (only
    those in ``among`` when given: the filter is pushed into the Parquet scan)."""
    ledger = read_ledger(source)
    accepted = sorted(k for k, r in ledger.items() if r.status == "accepted" and k < before)
    fulls = [k for k in accepted if ledger[k].kind == "full"]
    start = fulls[-1] if fulls else ""
    paths = [config.bronze_dir() / source / table / f"delivery_id={k}" / "part-0.parquet"
             for k in accepted if k >= start]
    paths = [p for p in paths if p.exists()]
    if not paths:
        return pl.DataFrame(schema={"record_id": pl.String})
    scan = pl.scan_parquet(paths).select("record_id")
    if among is not None:
        scan = scan.filter(pl.col("record_id").is_in(among.unique().implode()))
    return scan.unique().collect()


# --- the engine --------------------------------------------------------------------------
def _reject(source: str, delivery_id: str, reason: str, fp: str, kind: str | None,
            extracted_at: str | None, file: str | None, row: int | None,
            ledger_name: str | None = None) -> DeliveryResult:
    res = DeliveryResult(source, delivery_id, "rejected", reason=reason, kind=kind,
                         extracted_at=extracted_at, fingerprint=fp, processed_at=_now())
    issue = pl.DataFrame({
        "source": [source], "delivery_id": [delivery_id], "file": [file], "row_number": [row],
        "source_record_id": [None], "rule": ["delivery_rejected"], "severity": ["error"],
        "action": ["rejected"], "detail": [reason]}, schema=ISSUE_SCHEMA)
    ipath = config.issues_dir() / source / f"{delivery_id}-{fp[:12]}.parquet"
    _write_parquet(issue, ipath)
    res.issues, res.issues_file = 1, str(ipath.relative_to(config.data_dir()))
    _write_json(config.ledger_dir() / source / (ledger_name or f"{delivery_id}.json"),
                res.to_json())
    return res


def _fallback_fp(ddir: Path) -> str:
    import hashlib

    m = ddir / MANIFEST_NAME
    data = m.read_bytes() if m.is_file() else b"<no manifest>"
    return "m" + hashlib.sha256(data).hexdigest()[1:]


def ingest_delivery(source: str, delivery_id: str, landing: Path | None = None) -> DeliveryResult:
    """Verify, normalise and load one delivery; or reject it whole with a reason."""
    if source not in SOURCE_SPECS:
        raise ValueError(f"unknown source {source!r}")
    landing = Path(landing) if landing else config.landing_dir()
    with _source_lock(source):
        return _ingest_locked(source, delivery_id, landing / source / delivery_id)


def _ingest_locked(source: str, delivery_id: str, ddir: Path) -> DeliveryResult:
    t0 = _dt.datetime.now()
    try:
        manifest = read_manifest(ddir)
    except ContractError as exc:
        prev = read_ledger(source).get(delivery_id)
        if prev and prev.status == "accepted":  # keep the accepted first delivery standing
            fp = _fallback_fp(ddir)
            return _reject(source, delivery_id, f"resend conflicts with the accepted delivery: "
                           f"{exc}", fp, None, None, exc.file, exc.row,
                           ledger_name=f"{delivery_id}~{fp[:12]}.json")
        _cleanup_previous(prev)
        return _reject(source, delivery_id, str(exc), _fallback_fp(ddir), None, None,
                       exc.file, exc.row)
    fp = fingerprint(manifest)
    ledger = read_ledger(source)
    prev = ledger.get(delivery_id)
    if prev is not None and prev.status == "accepted":
        if prev.fingerprint == fp:
            prev.status, prev.reason = "unchanged-resend", "identical to the accepted delivery"
            return prev
        return _reject(source, delivery_id,
                       f"{manifest.where}: resend with different content conflicts with the "
                       f"accepted delivery (fingerprint {prev.fingerprint[:12]}); the first stands",
                       fp, manifest.kind, manifest.extracted_at, None, None,
                       ledger_name=f"{delivery_id}~{fp[:12]}.json")
    _cleanup_previous(prev)
    try:
        if manifest.kind == "delta":
            newer = sorted(k for k, r in ledger.items() if r.status == "accepted" and k > delivery_id)
            if newer:
                raise ContractError(manifest.where, f"delta is older than the already applied "
                                    f"delivery {newer[-1]}")
        res = _load(manifest, fp)
    except ContractError as exc:
        return _reject(source, delivery_id, str(exc), fp, manifest.kind, manifest.extracted_at,
                       exc.file, exc.row)
    res.seconds = round((_dt.datetime.now() - t0).total_seconds(), 3)
    _write_json(ledger_path(source, delivery_id), res.to_json())
    return res


def _cleanup_previous(prev: DeliveryResult | None) -> None:
    """A delivery processed again after a rejection: drop the old rejection's issues file."""
    if prev is not None and prev.issues_file:
        p = config.data_dir() / prev.issues_file
        if p.exists():
            p.unlink()


def _read_file(manifest: Manifest, f, aliases) -> tuple[pl.DataFrame, pl.DataFrame | None, bytes | None]:
    path = manifest.path / f.name
    if f.format == "xlsx":
        return readers.read_xlsx(path, manifest, f, aliases), None, None
    data = path.read_bytes()
    if f.format == "csv":
        return readers.read_csv(path, data, manifest, f, aliases), None, data
    if f.format == "jsonl":
        ev, bad = readers.read_jsonl(path, data, manifest, f, aliases)
        return ev, bad, data
    return readers.read_geojson(path, data, manifest, f, aliases), None, data


def _load(manifest: Manifest, fp: str) -> DeliveryResult:
    import hashlib

    source, delivery_id = manifest.source, manifest.delivery_id
    spec = SOURCE_SPECS[source]
    aliases = load_aliases(source)
    extracted_utc, today = _extracted(manifest)
    res = DeliveryResult(source, delivery_id, "accepted", kind=manifest.kind,
                         extracted_at=manifest.extracted_at, fingerprint=fp)

    # sha256 runs in a thread (hashlib releases the GIL) while the files are parsed
    pool = ThreadPoolExecutor(max_workers=1)
    hashes = {}
    per_table: dict[str, list[tuple]] = {}
    try:
        for f in sorted(manifest.files, key=lambda f: f.name):
            path = manifest.path / f.name
            if f.format == "xlsx":
                hashes[f.name] = pool.submit(sha256_file, path)
                raw, bad, _ = _read_file(manifest, f, aliases)
            else:
                data = path.read_bytes()
                hashes[f.name] = pool.submit(lambda b: hashlib.sha256(b).hexdigest(), data)
                if f.format == "csv":
                    raw, bad = readers.read_csv(path, data, manifest, f, aliases), None
                elif f.format == "jsonl":
                    raw, bad = readers.read_jsonl(path, data, manifest, f, aliases)
                else:
                    raw, bad = readers.read_geojson(path, data, manifest, f, aliases), None
                del data
            per_table.setdefault(f.spec.table, []).append((f, raw, bad))
    except ContractError:
        _check_hashes(manifest, hashes)  # a checksum mismatch is the more basic reason
        raise
    finally:
        pool.shutdown(wait=True)
    _check_hashes(manifest, hashes)

    outputs: dict[str, pl.DataFrame] = {}
    quarantines: dict[str, pl.DataFrame] = {}
    issues: list[pl.DataFrame] = []
    for table, items in per_table.items():
        fspec = items[0][0].spec
        ctx = Ctx(source=source, table=table, spec=fspec, today=today)
        frames, steps_frames = [], []
        seen: pl.Series | None = None   # record ids of earlier files of a split table
        for f, raw, bad in items:
            fr = FileResult(f.name, table, f.rows, rows_in=f.rows)
            prep: Prepared = transform(table, raw, ctx)
            q = prep.quarantine
            if seen is not None and prep.bronze.height:
                dup = prep.bronze["_rid"].is_in(seen.implode())
                if dup.any():
                    rows = prep.bronze.filter(dup)["_row_number"]
                    q = pl.concat([q, raw.filter(pl.col("_row_number").is_in(rows.implode()))
                                   .with_columns(pl.lit("duplicate_record_id").alias("_reason"))],
                                  how="diagonal_relaxed")
                    prep.bronze = prep.bronze.filter(~dup)
                    prep.flags = prep.flags.filter(~pl.col("_row_number").is_in(rows.implode()))
            if len(items) > 1:
                ids = prep.bronze["_rid"]
                seen = ids if seen is None else pl.concat([seen, ids])
            if bad is not None and bad.height:
                q = pl.concat([q, bad.with_columns(pl.lit("invalid_json").alias("_reason"))],
                              how="diagonal_relaxed")
            fr.rows_bronze, fr.rows_quarantined = prep.bronze.height, q.height
            fr.rows_flagged = prep.flags["_row_number"].n_unique() if prep.flags.height else 0
            res.files.append(fr)
            if q.height:
                quarantines.setdefault(table, [])
                quarantines[table].append(q.with_columns(pl.lit(f.name).alias("_file")))
                qi = q.select("_row_number",
                              pl.col(fspec.record_id).cast(pl.String).alias("source_record_id")
                              if fspec.record_id in q.columns
                              else pl.lit(None, dtype=pl.String).alias("source_record_id"),
                              pl.col("_reason").alias("rule"), pl.lit("error").alias("severity"),
                              pl.col("_reason").replace_strict(
                                  {"missing_record_id": "no usable source record id",
                                   "duplicate_record_id": "source record id repeated in the "
                                   "file; the first row stands",
                                   "invalid_json": "line is not a JSON object"},
                                  default="row not loadable", return_dtype=pl.String)
                              .alias("detail"))
                issues.append(_issue_frame(qi, source, delivery_id, f.name, "quarantined"))
            if prep.flags.height:
                issues.append(_issue_frame(prep.flags, source, delivery_id, f.name, "flagged"))
            frames.append(prep.bronze.with_columns(pl.lit(f.name).alias("_file")))
            if prep.steps is not None:
                steps_frames.append(prep.steps.with_columns(pl.lit(f.name).alias("_file")))
        df = pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
        # a delta ending a record that never existed
        if manifest.kind == "delta" and "change_type" in df.columns and spec.ending_changes:
            ends = df.filter(pl.col("change_type").is_in(list(spec.ending_changes)))
            if ends.height:
                prior = _prior_record_ids(source, table, delivery_id, ends["record_id"])
                unknown = ends.join(prior, on="record_id", how="anti")
                if unknown.height:
                    for fname, part in unknown.group_by("_file"):
                        issues.append(_issue_frame(part.select(
                            "_row_number", pl.col("record_id").alias("source_record_id"),
                            pl.lit("ends_unknown_record").alias("rule"),
                            pl.lit("warning").alias("severity"),
                            (pl.lit("change_type ") + pl.col("change_type") + pl.lit(
                                " ends a record that no earlier delivery holds")).alias("detail")),
                            source, delivery_id, fname[0], "flagged"))
        outputs[table] = df
        if steps_frames:
            outputs["steps"] = pl.concat(steps_frames, how="vertical_relaxed")

    # lineage and keys
    lineage = [pl.lit(source).alias("_source"), pl.lit(delivery_id).alias("_delivery_id"),
               pl.lit(manifest.kind).alias("_delivery_kind"),
               pl.lit(extracted_utc.replace(tzinfo=None)).cast(pl.Datetime("us"))
               .dt.replace_time_zone("UTC").alias("_extracted_at")]
    for table, df in list(outputs.items()):
        if table == "steps":
            continue
        keyspecs = [("_record_key", pl.lit(f"{source}:{table}:") + pl.col("_rid"), "record")]
        if "id_number" in df.columns:
            keyspecs.append(("id_hash", pl.col("id_number"), "id"))
        if "owner_id_number" in df.columns:
            keyspecs.append(("owner_id_hash", pl.col("owner_id_number"), "id"))
        if table == "persons":
            keyspecs.append(("household_key", pl.col("household_no"), "household"))
        df = _add_keys(df, keyspecs, unique=("id_hash", "owner_id_hash", "household_key")
                       ).with_columns(lineage)
        outputs[table] = df
    if "steps" in outputs:
        ev = outputs["events"].select("_file", "_row_number", "_record_key")
        st = outputs["steps"].join(ev, on=["_file", "_row_number"], how="inner")
        outputs["steps"] = st.with_columns(lineage).with_columns(
            pl.lit([], dtype=pl.List(pl.String)).alias("_invalid_fields"))
    elif "events" in outputs:
        outputs["steps"] = _empty_steps()
    for table, df in outputs.items():
        cols = BRONZE_COLUMNS[table] + LINEAGE
        outputs[table] = df.select(cols).with_columns(pl.col("_row_number").cast(pl.Int64))
        res.tables[table] = df.height

    # write: quarantine + issues (outside bronze), then bronze renamed into place, then ledger
    qdir = config.quarantine_dir() / source / f"delivery_id={delivery_id}"
    if qdir.exists():
        shutil.rmtree(qdir)
    for table, parts in quarantines.items():
        _write_parquet(pl.concat(parts, how="diagonal_relaxed"), qdir / f"{table}.parquet")
    ipath = config.issues_dir() / source / f"{delivery_id}-{fp[:12]}.parquet"
    idf = pl.concat(issues, how="vertical_relaxed") if issues else pl.DataFrame(schema=ISSUE_SCHEMA)
    _write_parquet(idf.cast(ISSUE_SCHEMA), ipath)
    res.issues, res.issues_file = idf.height, str(ipath.relative_to(config.data_dir()))

    bronze = config.bronze_dir()
    tmp = bronze / ".tmp" / f"{source}-{delivery_id}-{uuid.uuid4().hex[:8]}"
    try:
        for table, df in outputs.items():
            p = tmp / table / "part-0.parquet"
            p.parent.mkdir(parents=True, exist_ok=True)
            df.write_parquet(p, compression="zstd", compression_level=1, statistics=True,
                             row_group_size=256_000)
        for table in outputs:
            dest = bronze / source / table / f"delivery_id={delivery_id}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():  # left by an attempt that died before its ledger entry
                shutil.rmtree(dest)
            os.rename(tmp / table, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res.processed_at = _now()
    return res


def _empty_steps() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "record_id": pl.String, "step_seq": pl.Int32, "step": pl.String,
        "step_at": pl.Datetime("us"), "department": pl.String, "_source": pl.String,
        "_delivery_id": pl.String, "_delivery_kind": pl.String,
        "_extracted_at": pl.Datetime("us", "UTC"), "_file": pl.String, "_row_number": pl.Int64,
        "_record_key": pl.String, "_invalid_fields": pl.List(pl.String)})


def _check_hashes(manifest: Manifest, hashes: dict) -> None:
    for f in sorted(manifest.files, key=lambda f: f.name):
        fut = hashes.get(f.name)
        if fut is None:
            continue
        if fut.result() != f.sha256:
            raise ContractError(manifest.where, "sha256 differs from the manifest", file=f.name)


def pending_deliveries(landing: Path | None = None, sources=None,
                       up_to: str | None = None) -> list[tuple[str, str]]:
    """(source, delivery_id) in the landing root without a ledger entry, in order."""
    landing = Path(landing) if landing else config.landing_dir()
    out = []
    ledgers: dict[str, dict] = {}
    for source, did in list_deliveries(landing):
        if sources and source not in sources:
            continue
        if up_to and did > up_to:
            continue
        if source not in ledgers:
            ledgers[source] = read_ledger(source)
        if did not in ledgers[source]:
            out.append((source, did))
    return out


def ingest_workers() -> int:
    """How many sources are ingested at once: ``ONEGRID_INGEST_WORKERS``, else the machine's
    cores up to 2 (the two big sources, household CSV and housing xlsx, take about the same
    time)."""
    env = os.environ.get("ONEGRID_INGEST_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


def _landing_bytes(landing: Path, source: str, ids: list[str]) -> int:
    total = 0
    for did in ids:
        for f in (landing / source / did).glob("*"):
            try:
                total += f.stat().st_size
            except OSError:
                pass
    return total


def pending_bytes(landing: Path, source: str) -> int:
    """Landing bytes of a source's deliveries not yet in the ledger."""
    return _landing_bytes(landing, source, [d for _, d in pending_deliveries(landing, [source])])


def _ingest_source(source: str, ids: list[str], landing: Path) -> list[DeliveryResult]:
    return [ingest_delivery(source, d, landing) for d in ids]


# Below this many landing bytes a second process costs more than it saves (its start-up
# imports polars and the engine: about a second).
PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def _spawn_pool(workers: int):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # "spawn": a forked polars process can deadlock on the parent's thread pool
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))


def ingest_source(source: str, up_to: str, landing: Path | None = None,
                  isolate: bool | None = None) -> list[DeliveryResult]:
    """One source brought up to ``up_to``: its pending deliveries before it, in order, then
    ``up_to`` itself (processed, or its no-op / resend outcome). The Dagster asset of a
    partition calls this.

    ``isolate`` runs the work in a worker process (default: when the pending deliveries hold
    at least ``PARALLEL_MIN_BYTES``), so that the ingestion runs of several sources started
    side by side use every core instead of sharing one interpreter's GIL."""
    landing = Path(landing) if landing else config.landing_dir()
    ids = [d for _, d in pending_deliveries(landing, [source], up_to) if d != up_to] + [up_to]
    if isolate is None:
        isolate = _landing_bytes(landing, source, ids) >= PARALLEL_MIN_BYTES
    if not isolate:
        return _ingest_source(source, ids, landing)
    with _spawn_pool(1) as pool:
        return pool.submit(_ingest_source, source, ids, landing).result()


def ingest_pending(landing: Path | None = None, sources=None,
                   up_to: str | None = None, workers: int | None = None) -> list[DeliveryResult]:
    """Process every delivery not yet in the ledger: each source's deliveries in delivery_id
    order; with more than one source pending and enough data, sources run side by side in
    worker processes (``ingest_workers``; sources share nothing but the landing root, and
    processes, unlike threads, also overlap the per-value keyed hashing that holds the GIL).
    Results come back in (source, delivery_id) order."""
    landing = Path(landing) if landing else config.landing_dir()
    pending = pending_deliveries(landing, sources, up_to)
    by_source: dict[str, list[str]] = {}
    for s, d in pending:
        by_source.setdefault(s, []).append(d)
    workers = min(workers or ingest_workers(), len(by_source))
    size = {s: _landing_bytes(landing, s, ids) for s, ids in by_source.items()} if workers > 1 else {}
    if workers <= 1 or sum(size.values()) < PARALLEL_MIN_BYTES:
        return [ingest_delivery(s, d, landing) for s, d in pending]

    # biggest first, so that the small sources fill in behind the two big ones
    order = sorted(by_source, key=lambda s: -size[s])
    with _spawn_pool(workers) as pool:
        futures = {s: pool.submit(_ingest_source, s, by_source[s], landing) for s in order}
        done = {s: f.result() for s, f in futures.items()}
    return [r for s in by_source for r in done[s]]
