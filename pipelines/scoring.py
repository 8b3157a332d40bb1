"""Score a built warehouse against the synthetic city's ground truth (``onegrid score``).

    from pipelines.scoring import score
    figures = score(landing_dir, data_dir)       # prints a table, returns the figures

Reads the ground truth beside the landing root (``<landing>_truth/``, pipelines/synth/README.md)
and the warehouse read-only (``<data_dir>/warehouse/onegrid.duckdb``). Nothing printed or
returned identifies anybody: only counts and rates.

Figures (targets from issue 4, jingdezhen profile):
- person linkage, pairwise over current person-like source records (household persons and
  party members): a pair is predicted when both records got the same ``person_key``, true when
  both are the same synthetic person. precision ≥ 0.998, F1 ≥ 0.995.
- dwelling linkage, pairwise over current housing records (double registrations).
- right dwelling: share of current persons (household records) whose resolved person's
  ``house_key`` is the dwelling they actually live in (null where they live outside the city
  counts as right when the truth is null). ≥ 0.99.
- incidents: share placed on any grid (≥ 0.99) and share of placed ones on the right grid
  (≥ 0.995), from ``fct_incident``.
- counts: mart_city_summary's city row against counts.json (when that mart exists), else the
  entity models' own counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from pipelines import config

TARGETS = {
    "person_precision": 0.998,
    "person_f1": 0.995,
    "right_dwelling": 0.99,
    "incident_right_grid": 0.995,
    "incident_placed": 0.99,
}


def _pairs(df: pl.DataFrame, truth_col: str, pred_col: str) -> dict:
    """Pairwise precision / recall / F1 of a clustering (counts of pairs in each cluster)."""
    def c2(col: pl.Expr) -> pl.Expr:
        return (col * (col - 1) / 2).sum()

    true_pairs = df.group_by(truth_col).len().select(c2(pl.col("len"))).item() or 0
    pred_pairs = df.group_by(pred_col).len().select(c2(pl.col("len"))).item() or 0
    tp = df.group_by(truth_col, pred_col).len().select(c2(pl.col("len"))).item() or 0
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": df.height, "true_pairs": int(true_pairs), "predicted_pairs": int(pred_pairs),
            "true_positive_pairs": int(tp), "precision": precision, "recall": recall, "f1": f1}


def _table(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """Schema-qualified name of a table/view wherever dbt put it, or None."""
    row = con.execute(
        "select table_schema from information_schema.tables where table_name = ? "
        "order by case table_schema when 'marts' then 0 when 'marts_restricted' then 1 "
        "when 'intermediate' then 2 else 3 end limit 1", [name]).fetchone()
    return f'"{row[0]}"."{name}"' if row else None


def _read(con, sql: str) -> pl.DataFrame:
    return con.execute(sql).pl()


def score(landing: Path, data_dir: Path, print_table: bool = True) -> dict:
    landing, data_dir = Path(landing), Path(data_dir)
    tdir = config.truth_dir(landing)
    wh = data_dir / "warehouse" / "onegrid.duckdb"
    if not tdir.exists():
        raise FileNotFoundError(f"no ground truth beside the landing root: {tdir}")
    if not wh.exists():
        raise FileNotFoundError(f"no warehouse: {wh}")
    records = pl.read_parquet(tdir / "records.parquet")
    tpersons = pl.read_parquet(tdir / "persons.parquet", columns=["person_id", "live_house_id", "is_current"])
    counts = json.loads((tdir / "counts.json").read_text(encoding="utf-8"))
    out: dict = {}
    con = duckdb.connect(str(wh), read_only=True)
    try:
        # ---------------------------------------------------------------- persons
        prr = _table(con, "int_person_records_resolved")
        pred = _read(con, f"select source, source_record_id, person_key, match_rule from {prr}")
        truth_p = records.filter(pl.col("entity_type") == "person", pl.col("is_current")).select(
            "source", "source_record_id", "person_id")
        joined = truth_p.join(pred, on=["source", "source_record_id"], how="inner")
        out["person"] = _pairs(joined, "person_id", "person_key")
        out["person"]["truth_records_missing"] = truth_p.height - joined.height
        out["person"]["extra_records"] = pred.height - joined.height
        out["person"]["match_rules"] = dict(pred.group_by("match_rule").len().iter_rows())
        out["person"]["persons_true"] = int(joined["person_id"].n_unique())
        out["person"]["persons_built"] = int(joined["person_key"].n_unique())

        # ---------------------------------------------------------------- dwellings
        hrr = _table(con, "int_house_records_resolved")
        hpred = _read(con, f"select source_record_id, house_key from {hrr}")
        truth_h = records.filter(pl.col("source") == "housing", pl.col("is_current")).select(
            "source_record_id", "house_id")
        hj = truth_h.join(hpred, on="source_record_id", how="inner")
        out["house"] = _pairs(hj, "house_id", "house_key")
        out["house"]["houses_true"] = int(hj["house_id"].n_unique())
        out["house"]["houses_built"] = int(hj["house_key"].n_unique())
        # house_key -> true house (majority of its records)
        key_to_house = (hpred.join(records.filter(pl.col("source") == "housing")
                                   .select("source_record_id", "house_id"), on="source_record_id")
                        .group_by("house_key", "house_id").len()
                        .sort(["house_key", "len"], descending=[False, True])
                        .unique("house_key", keep="first").select("house_key", pl.col("house_id").alias("pred_house_id")))

        # ---------------------------------------------------------------- right dwelling
        pres = _table(con, "int_persons_resolved")
        pkeys = _read(con, f"select person_key, house_key from {pres}")
        hh_rec = (records.filter(pl.col("source") == "household", pl.col("is_current"))
                  .select("source_record_id", "person_id")
                  .join(pred.filter(pl.col("source") == "household").select("source_record_id", "person_key"),
                        on="source_record_id", how="inner")
                  .join(pkeys, on="person_key", how="left")
                  .join(key_to_house, on="house_key", how="left")
                  .join(tpersons.select("person_id", "live_house_id"), on="person_id", how="left"))
        right = hh_rec.select(
            ((pl.col("pred_house_id") == pl.col("live_house_id"))
             | (pl.col("house_key").is_null() & pl.col("live_house_id").is_null())).fill_null(False).alias("ok"),
            pl.col("live_house_id").is_not_null().alias("lives_in_city"))
        out["dwelling"] = {
            "records": hh_rec.height,
            "right": int(right["ok"].sum()),
            "rate": float(right["ok"].mean()) if hh_rec.height else 1.0,
            "rate_residents": float(right.filter(pl.col("lives_in_city"))["ok"].mean())
            if right["lives_in_city"].any() else 1.0,
        }

        # ---------------------------------------------------------------- incidents
        fct = _table(con, "fct_incident")
        if fct:
            ipred = _read(con, f"select incident_id, grid_code as pred_grid from {fct}")
            itruth = pl.read_parquet(tdir / "incidents.parquet", columns=["incident_id", "grid_code"])
            ij = itruth.join(ipred, on="incident_id", how="left")
            placed = ij.filter(pl.col("pred_grid").is_not_null())
            right_n = int((placed["pred_grid"] == placed["grid_code"]).sum())
            out["incident"] = {
                "incidents": ij.height,
                "missing": itruth.join(ipred.select("incident_id"), on="incident_id", how="anti").height,
                "placed": placed.height,
                "placed_rate": placed.height / ij.height if ij.height else 1.0,
                "right_grid": right_n,
                "right_grid_rate": right_n / placed.height if placed.height else 1.0,
            }

        # ---------------------------------------------------------------- counts
        truth_city = counts.get("city", {})
        built: dict = {}
        summ = _table(con, "mart_city_summary")
        if summ:
            row = con.execute(f"select * from {summ} where level = 'city'").pl()
            if row.height:
                built = {k: row[k][0] for k in row.columns if k in truth_city}
        if not built:
            dp = _table(con, "int_persons_resolved")
            dh = _table(con, "int_households_built")
            dhs = _table(con, "int_houses_resolved")
            built = {
                "residents": con.execute(f"select count(*) from {dp} where is_resident").fetchone()[0],
                "households": con.execute(f"select count(*) from {dh} where grid_code is not null").fetchone()[0],
                "houses": con.execute(f"select count(*) from {dhs}").fetchone()[0],
            }
        out["counts"] = {k: {"truth": truth_city.get(k), "built": (None if v is None else int(v))}
                         for k, v in built.items()}
    finally:
        con.close()

    out["targets"] = {
        "person_precision": out["person"]["precision"] >= TARGETS["person_precision"],
        "person_f1": out["person"]["f1"] >= TARGETS["person_f1"],
        "right_dwelling": out["dwelling"]["rate"] >= TARGETS["right_dwelling"],
    }
    if "incident" in out:
        out["targets"]["incident_right_grid"] = out["incident"]["right_grid_rate"] >= TARGETS["incident_right_grid"]
        out["targets"]["incident_placed"] = out["incident"]["placed_rate"] >= TARGETS["incident_placed"]
    if print_table:
        print(format_table(out))
    return out


def format_table(out: dict) -> str:
    lines = [f"{'figure':<34}{'value':>12}  {'target':>8}", "-" * 56]

    def row(name, value, target=None):
        v = f"{value:.4f}" if isinstance(value, float) else str(value)
        t = "" if target is None else f"≥{target}"
        lines.append(f"{name:<34}{v:>12}  {t:>8}")

    p = out["person"]
    row("person records", p["records"])
    row("persons true / built", f"{p['persons_true']}/{p['persons_built']}")
    row("person pairs true / predicted", f"{p['true_pairs']}/{p['predicted_pairs']}")
    row("person pairwise precision", p["precision"], TARGETS["person_precision"])
    row("person pairwise recall", p["recall"])
    row("person pairwise F1", p["f1"], TARGETS["person_f1"])
    h = out["house"]
    row("dwellings true / built", f"{h['houses_true']}/{h['houses_built']}")
    row("dwelling pairwise precision", h["precision"])
    row("dwelling pairwise recall", h["recall"])
    d = out["dwelling"]
    row("persons in right dwelling", d["rate"], TARGETS["right_dwelling"])
    row("  of those living in the city", d["rate_residents"])
    if "incident" in out:
        i = out["incident"]
        row("incidents placed", i["placed_rate"], TARGETS["incident_placed"])
        row("incidents on right grid", i["right_grid_rate"], TARGETS["incident_right_grid"])
    for k, v in out.get("counts", {}).items():
        row(f"count {k} (truth/built)", f"{v['truth']}/{v['built']}")
    ok = all(out["targets"].values())
    lines.append("-" * 56)
    lines.append("targets met" if ok else "targets NOT met: " + ", ".join(k for k, v in out["targets"].items() if not v))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="score the warehouse against the synthetic truth")
    ap.add_argument("--landing", type=Path, default=None)
    ap.add_argument("--data-dir", type=Path, default=None)
    a = ap.parse_args(argv)
    out = score(a.landing or config.landing_dir(), a.data_dir or config.data_dir())
    return 0 if all(out["targets"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
