"""Per-table normalisation of raw text frames into bronze frames (vectorised polars).

``transform(table, raw, ctx)`` returns ``Prepared``: the bronze frame (English column names,
typed, lineage not yet added), the quarantined raw rows with their reason, and the flagged
findings (one row per row and rule). Row rules follow shared/contracts/extracts.md.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.lib import gcj02, text
from pipelines.lib.contract import FileSpec
from pipelines.lib import idnumber

LON_RANGE = (73.0, 136.0)
LAT_RANGE = (3.0, 54.0)

# column roles per bronze table (English names)
CODES = {
    "persons": ["record_id", "household_no", "phone"],
    "members": ["record_id", "org_code", "phone"],
    "orgs": ["record_id", "parent_org_code", "covered_grid_codes"],
    "houses": ["record_id"],
    "grids": ["grid_code", "community_code", "street_code", "district_code", "grid_worker_phone"],
    "legacy_grid_map": ["legacy_code", "grid_code"],
    "events": ["record_id", "legacy_code"],
}
NAMES = {
    "persons": ["name"], "members": ["name"], "orgs": ["secretary"], "houses": ["owner_name"],
    "grids": ["grid_worker"], "legacy_grid_map": [], "events": [],
}
DATES = {
    "persons": ["birth_date", "change_date"],
    "members": ["birth_date", "joined_date", "full_member_date"],
    "orgs": ["founded_date"],
}
ID_COLUMNS = {"persons": ("id_number_raw", "id_"), "members": ("id_number_raw", "id_"),
              "houses": ("owner_id_number_raw", "owner_id_")}


@dataclass
class Ctx:
    source: str
    table: str
    spec: FileSpec
    today: _dt.date                       # reference date: the delivery's extraction date
    aliases: dict[str, str] = field(default_factory=dict)


@dataclass
class Prepared:
    bronze: pl.DataFrame                  # English columns + _row_number + _invalid_fields
    quarantine: pl.DataFrame              # delivered text + _row_number + _reason
    flags: pl.DataFrame                   # _row_number, source_record_id, rule, severity, detail
    steps: pl.DataFrame | None = None     # incident/steps


FLAG_SCHEMA = {"_row_number": pl.Int64, "source_record_id": pl.String, "rule": pl.String,
               "severity": pl.String, "detail": pl.String}


def _strip_float_zero(e: pl.Expr) -> pl.Expr:
    """xlsx number cells read as text: '3.0' → '3' (floors, rooms, buildings)."""
    return e.str.replace(r"^(-?\d+)\.0+$", "${1}")


def _split_rows(df: pl.DataFrame, id_col: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept, quarantined-with-_reason): missing record id, then duplicates (first stands)."""
    rid = pl.col(id_col)
    reason = (pl.when(rid.is_null()).then(pl.lit("missing_record_id"))
              .when(~rid.is_first_distinct()).then(pl.lit("duplicate_record_id")))
    df = df.with_columns(reason.alias("_reason"))
    bad = df.filter(pl.col("_reason").is_not_null())
    return df.filter(pl.col("_reason").is_null()).drop("_reason"), bad


def transform(table: str, raw: pl.DataFrame, ctx: Ctx) -> Prepared:
    spec = ctx.spec
    rename = {c: e for c, e in spec.columns.items() if c in raw.columns}
    df = raw.rename(rename)
    if table == "events":
        df = _flatten_events(df)
    # text: codes, names, every other string column as free text
    codes = [c for c in CODES.get(table, []) if c in df.columns]
    names = [c for c in NAMES.get(table, []) if c in df.columns]
    skip = set(codes) | set(names) | {"_row_number", "_steps", "geometry_wkt"}
    idraw = ID_COLUMNS.get(table, (None, None))[0]
    skip.add(idraw)
    free = [c for c, t in df.schema.items() if t == pl.String and c not in skip]
    if idraw:
        df = df.with_columns(text.code_expr(pl.col(idraw)).alias(idraw))
    df = text.normalise_frame(df, text=free, names=names, codes=codes)
    if table == "houses":
        df = df.with_columns([_strip_float_zero(pl.col(c)).alias(c)
                              for c in ("building", "unit", "floor", "room")])
    if table == "orgs":
        df = df.with_columns(pl.col("covered_grid_codes").str.replace_all(r"[;,，、]+", ";")
                             .str.strip_chars(";"))
    if table == "events":
        df = df.with_columns(pl.col("crs").str.to_uppercase().str.replace_all(r"[-\s]", ""))

    # record id used for duplicate detection (legacy codes are unique only within a 体系)
    if table == "legacy_grid_map":
        df = df.with_columns(pl.when(pl.col("legacy_system").is_not_null()
                                     & pl.col("legacy_code").is_not_null())
                             .then(pl.col("legacy_system") + ":" + pl.col("legacy_code"))
                             .alias("_rid"))
    else:
        df = df.with_columns(pl.col(spec.columns[spec.record_id]).alias("_rid"))

    kept, bad = _split_rows(df, "_rid")
    quarantine = raw.join(bad.select("_row_number", "_reason"), on="_row_number", how="inner")
    nested = [c for c, t in quarantine.schema.items() if isinstance(t, (pl.List, pl.Struct))]
    if nested:  # nested JSON values kept as JSON text
        quarantine = quarantine.with_columns([_json_text(quarantine[c]).alias(c) for c in nested])

    invalid: list[tuple[str, pl.Expr]] = []   # (field, condition that it is invalid)
    flag_rules: list[tuple[pl.Expr, str, str, str]] = []  # (cond, rule, severity, detail)
    typed: list[pl.Expr] = []

    # dates
    pre = []
    for c in DATES.get(table, []):
        pre.append(text.on_unique(kept[c], text.date_expr, pl.Date).alias(f"_p_{c}"))
    if table == "events":
        pre.append(text.on_unique(kept["reported_at"], text.timestamp_expr, pl.Datetime("us"))
                   .alias("_p_reported_at"))
    for c in ("floor_area_m2", "lon", "lat", "time_limit_hours"):
        if c in kept.columns and table in ("houses", "events"):
            pre.append(text.number_expr(pl.col(c)).alias(f"_p_{c}"))
    if pre:
        kept = kept.with_columns(pre)
    for c in DATES.get(table, []):
        parsed = pl.col(f"_p_{c}")
        unparseable = pl.col(c).is_not_null() & parsed.is_null()
        invalid.append((c, unparseable))
        flag_rules.append((unparseable, "date_unparseable", "warning",
                           f"{c} is not a date in a contract format; loaded as missing"))
        if c == "birth_date":
            impossible = parsed.is_not_null() & ((parsed > ctx.today) | (parsed < text.MIN_DATE))
            invalid.append((c, impossible))
            flag_rules.append((impossible, "birth_date_impossible", "warning",
                               "birth_date in the future or before 1900; loaded as missing"))
            parsed = pl.when(impossible).then(None).otherwise(parsed)
        typed.append(parsed.alias(c))
    if table in ("persons", "members"):
        g = text.gender_expr(pl.col("gender"))
        unknown = pl.col("gender").is_not_null() & g.is_null()
        invalid.append(("gender", unknown))
        flag_rules.append((unknown, "gender_unknown", "warning",
                           "gender is neither 男/女 nor code 1/2; loaded as missing"))
        typed.append(g.alias("gender"))
    if table == "houses":
        area = pl.col("_p_floor_area_m2")
        bad_area = pl.col("floor_area_m2").is_not_null() & (area.is_null() | (area <= 0))
        invalid.append(("floor_area_m2", bad_area))
        flag_rules.append((bad_area, "floor_area_impossible", "warning",
                           "floor_area_m2 not a number > 0; loaded as missing"))
        typed.append(pl.when(bad_area).then(None).otherwise(area).alias("floor_area_m2"))
    if table in ("houses", "events"):
        lon, lat = pl.col("_p_lon"), pl.col("_p_lat")
        present = pl.col("lon").is_not_null() | pl.col("lat").is_not_null()
        outside = present & (lon.is_null() | lat.is_null() | ~lon.is_between(*LON_RANGE)
                             | ~lat.is_between(*LAT_RANGE))
        invalid += [("lon", outside), ("lat", outside)]
        flag_rules.append((outside, "coordinates_outside_china", "warning",
                           "coordinates missing a part, not numbers or outside 73–136°E, "
                           "3–54°N; loaded as missing"))
        typed += [pl.when(outside).then(None).otherwise(lon).alias("lon"),
                  pl.when(outside).then(None).otherwise(lat).alias("lat")]
    if table == "events":
        ts = pl.col("_p_reported_at")
        bad_ts = pl.col("reported_at").is_not_null() & ts.is_null()
        invalid.append(("reported_at", bad_ts))
        flag_rules.append((bad_ts, "timestamp_unparseable", "warning",
                           "reported_at is not YYYY-MM-DD HH:MM:SS; loaded as missing"))
        hours = pl.col("_p_time_limit_hours")
        bad_h = pl.col("time_limit_hours").is_not_null() & (hours.is_null() | (hours < 0))
        invalid.append(("time_limit_hours", bad_h))
        flag_rules.append((bad_h, "number_unparseable", "warning",
                           "time_limit_hours not a number ≥ 0; loaded as missing"))
        typed += [ts.alias("reported_at"),
                  pl.when(bad_h).then(None).otherwise(hours).alias("time_limit_hours")]

    # evaluate conditions once as boolean columns
    cond_cols = [cond.alias(f"_inv{i}") for i, (_, cond) in enumerate(invalid)]
    flag_cols = [cond.alias(f"_flag{i}") for i, (cond, *_rest) in enumerate(flag_rules)]
    kept = kept.with_columns(cond_cols + flag_cols).with_columns(typed)
    if idraw:
        kept = idnumber.normalise_columns(kept, idraw, ID_COLUMNS[table][1], today=ctx.today)
    kept = kept.drop([c for c in kept.columns if c.startswith("_p_")])
    inv_list = pl.concat_list([pl.when(pl.col(f"_inv{i}")).then(pl.lit(f)).otherwise(None)
                               for i, (f, _) in enumerate(invalid)]) if invalid else None
    if inv_list is not None:
        # build the list only for the few rows with an invalid field, then join back
        anyinv = pl.any_horizontal([pl.col(f"_inv{i}") for i in range(len(invalid))])
        sub = kept.filter(anyinv).select(
            "_row_number", inv_list.list.drop_nulls().list.unique(maintain_order=True)
            .alias("_invalid_fields"))
        kept = kept.join(sub, on="_row_number", how="left", maintain_order="left")
        kept = kept.with_columns(pl.col("_invalid_fields").fill_null(
            pl.lit([], dtype=pl.List(pl.String))))
    else:
        kept = kept.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("_invalid_fields"))

    flags = []
    for i, (_, rule, sev, detail) in enumerate(flag_rules):
        hit = kept.filter(pl.col(f"_flag{i}"))
        if hit.height:
            flags.append(hit.select("_row_number", pl.col("_rid").alias("source_record_id"),
                                    pl.lit(rule).alias("rule"), pl.lit(sev).alias("severity"),
                                    pl.lit(detail).alias("detail")))
    if idraw:
        prefix = ID_COLUMNS[table][1]
        bad_id = pl.col(prefix + "status").is_in(["bad_check", "bad_date", "malformed"])
        hit = kept.filter(bad_id)
        if hit.height:
            flags.append(hit.select("_row_number", pl.col("_rid").alias("source_record_id"),
                                    pl.lit("id_number_invalid").alias("rule"),
                                    pl.lit("warning").alias("severity"),
                                    (pl.lit(f"{prefix}number unusable (")
                                     + pl.col(prefix + "status") + pl.lit("); not loaded"))
                                    .alias("detail")))
        kept = kept.drop(idraw)
    kept = kept.drop([c for c in kept.columns
                      if c.startswith(("_inv", "_flag")) and c[-1].isdigit()])

    steps = None
    if table == "events":
        kept, steps = _events_post(kept)
    flags_df = pl.concat(flags) if flags else pl.DataFrame(schema=FLAG_SCHEMA)
    return Prepared(bronze=kept, quarantine=quarantine, flags=flags_df, steps=steps)


def _json_text(s: pl.Series) -> pl.Series:
    return s.to_frame("v").select(pl.struct("v").struct.json_encode()
                                  .str.replace(r'^\{"v":', "").str.replace(r"\}$", ""))["v"]


def _flatten_events(df: pl.DataFrame) -> pl.DataFrame:
    coord, legacy = pl.col("coord"), pl.col("legacy_grid")
    return df.with_columns(
        coord.struct.field("经度").alias("lon"),
        coord.struct.field("纬度").alias("lat"),
        coord.struct.field("坐标系").alias("crs"),
        legacy.struct.field("体系").alias("legacy_system"),
        legacy.struct.field("编码").alias("legacy_code"),
        pl.col("steps").alias("_steps"),
    ).drop("coord", "legacy_grid", "steps")


def _events_post(kept: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    lon = kept["lon"].to_numpy()
    lat = kept["lat"].to_numpy()
    gcj = (kept["crs"] == "GCJ02").fill_null(False).to_numpy()
    wlon, wlat = lon.astype(np.float64, copy=True), lat.astype(np.float64, copy=True)
    if gcj.any():
        cl, ct = gcj02.gcj_to_wgs(lon[gcj], lat[gcj])
        wlon[gcj], wlat[gcj] = cl, ct
    known = (kept["crs"].is_in(["WGS84", "GCJ02", "CGCS2000"])).fill_null(False).to_numpy()
    wlon[~known], wlat[~known] = np.nan, np.nan
    kept = kept.with_columns(pl.Series("lon_wgs84", wlon).fill_nan(None),
                             pl.Series("lat_wgs84", wlat).fill_nan(None))
    steps = (kept.select("record_id", "_row_number", "_steps")
             .with_columns(pl.col("_steps").list.len().fill_null(0).alias("_n"))
             .filter(pl.col("_n") > 0)
             .explode("_steps")
             .with_columns((pl.int_range(pl.len()).over("_row_number")).cast(pl.Int32)
                           .alias("step_seq"))
             .unnest("_steps"))
    steps = text.normalise_frame(
        steps.rename({"环节": "step", "部门": "department"}), text=["step", "department"])
    steps = steps.with_columns(text.on_unique(
        text.normalise_series(steps["时间"], "text"), text.timestamp_expr, pl.Datetime("us"))
        .alias("step_at")).select(
        "record_id", "step_seq", "step", "step_at", "department", "_row_number")
    return kept.drop("_steps"), steps
