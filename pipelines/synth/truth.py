"""Ground truth of a synthetic city (documented in pipelines/synth/README.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.synth.world import ST_FLOAT, ST_SAME, ST_SEP, id_strings


def _structure(gen) -> tuple[pl.DataFrame, pl.DataFrame]:
    w = gen.w
    g = w.grids
    o = w.orgs
    lvl = o["level"].to_numpy()
    typ = o["org_type"].to_numpy()
    dist = o["district_code"].to_numpy()
    active = o["active"].to_numpy()
    per_d = []
    for dcode in w.districts["district_code"]:
        gd = g.filter(pl.col("district_code") == dcode)
        m = (dist == dcode) & active
        per_d.append({
            "district_code": dcode,
            "streets": gd["street_code"].n_unique(),
            "communities": gd["community_code"].n_unique(),
            "grids": gd.height,
            "community_party_orgs": int((m & (lvl == "community")).sum()),
            "grid_party_branches": int((m & (lvl == "branch")).sum()),
            "party_groups": int((m & (typ == "党小组")).sum()),
        })
    return pl.DataFrame(per_d), o


def write_truth(gen, tdir: Path) -> None:
    w = gen.w
    g = w.grids
    gcode = g["grid_code"]
    dcode_of_grid = g["district_code"]
    struct, orgs = _structure(gen)
    # grids and organisations
    geo = pl.DataFrame({"grid_code": gcode, "area_km2": g["area_km2"],
                        "wkt": [geom.wkt for geom in w.grid_geoms]})
    g.drop("grid_worker", "grid_worker_phone").join(geo.drop("area_km2"), on="grid_code").write_parquet(tdir / "grids.parquet")
    w.legacy.with_columns(grid_code=gcode.gather(w.legacy["grid_idx"])).drop("grid_idx").write_parquet(
        tdir / "legacy_grids.parquet")
    org_grids = orgs["grids"].to_list()
    orgs_out = orgs.select(
        pl.col("org_idx").cast(pl.Int64).alias("org_id"), "org_code", "org_name", "org_type", "level",
        pl.col("parent").alias("parent_org_code"), "district_code", pl.col("active").alias("is_current"),
        pl.Series("grid_codes", [[gcode[i] for i in gl] for gl in org_grids], dtype=pl.List(pl.String)),
    )
    orgs_out.write_parquet(tdir / "orgs.parquet")
    meta = {"profile": gen.p.name, "scale": gen.scale, "seed": gen.seed, "base_date": str(gen.p.base_date),
            "days": gen.p.days, "structure_only": gen.structure_only}
    if gen.structure_only:
        shutil.rmtree(gen.defect_dir, ignore_errors=True)
        counts = {"meta": meta, "city": _sum(struct.to_dicts()), "districts": struct.to_dicts()}
        (tdir / "counts.json").write_text(json.dumps(counts, ensure_ascii=False, indent=2), encoding="utf-8")
        return

    P, Hs, H, M = w.P, w.houses, w.H, w.M
    N = len(P["born"])
    hgrid = Hs["grid"]
    current = P["in_registry"] & P["alive"]
    resident = current & (P["live"] >= 0)
    live_grid = np.where(resident, hgrid[np.maximum(P["live"], 0)], -1)
    registered = resident & np.isin(P["status"], [ST_SAME, ST_SEP])
    floating = resident & (P["status"] == ST_FLOAT)
    is_member = np.zeros(N, bool)
    is_member[M["person"][M["active"]]] = True
    ng = g.height
    # households: placed where the head lives, else where most resident members live
    nhh = len(H["dwelling"])
    hh = P["household"]
    hh_res = np.bincount(hh[resident & (hh >= 0)], minlength=nhh)
    head = (P["pos"] == 0) & (hh >= 0) & resident
    place = np.full(nhh, -1)
    sel = np.nonzero(resident & (hh >= 0))[0]
    if len(sel):
        key = pl.DataFrame({"h": hh[sel], "g": live_grid[sel]}).group_by("h", "g").len().sort(
            ["h", "len", "g"], descending=[False, True, False]).unique("h", keep="first", maintain_order=True)
        place[key["h"].to_numpy()] = key["g"].to_numpy()
    place[hh[head]] = live_grid[head]
    counted_hh = hh_res > 0
    # persons
    idn = id_strings(P["id_body"])
    person_grid = pl.concat([gcode, pl.Series([None], dtype=pl.String)]).gather(
        np.where(live_grid >= 0, live_grid, ng)).alias("grid_code")
    persons = pl.DataFrame({
        "person_id": np.arange(N), "household_id": hh, "in_registry": P["in_registry"], "alive": P["alive"],
        "is_current": current, "residency_status": pl.Series(np.array(["", "人户一致", "人在户不在", "户在人不在", "流入人口"])[P["status"] + 1]),
        "live_house_id": P["live"], "reg_house_id": P["reg"],
        "grid_code": person_grid,
        "is_resident": resident, "is_registered_resident": registered, "is_floating": floating,
        "is_party_member": is_member, "id_number": idn, "gender": np.where(P["male"], "男", "女"),
        "birth_date": pl.Series(P["born"]).cast(pl.Int32).cast(pl.Date), "kind": P["kind"],
    }).with_columns(pl.when(pl.col("household_id") < 0).then(None).otherwise(pl.col("household_id")).alias("household_id"),
                    pl.when(pl.col("live_house_id") < 0).then(None).otherwise(pl.col("live_house_id")).alias("live_house_id"),
                    pl.when(pl.col("reg_house_id") < 0).then(None).otherwise(pl.col("reg_house_id")).alias("reg_house_id"),
                    pl.col("kind").replace_strict({0: "registry", 1: "owner_outside_registry", 2: "member_outside_registry"},
                                                  return_dtype=pl.String))
    persons.write_parquet(tdir / "persons.parquet")
    del persons, idn
    households = pl.DataFrame({"household_id": np.arange(nhh), "household_no": H["no"],
                               "resident_members": hh_res, "is_counted": counted_hh,
                               "grid_code": pl.Series(np.where(place >= 0, gcode.to_numpy()[np.maximum(place, 0)], None))})
    households.write_parquet(tdir / "households.parquet")
    occupied = np.zeros(len(Hs["use"]), bool)
    occupied[P["live"][resident]] = True
    res_per_house = np.bincount(P["live"][resident], minlength=len(Hs["use"]))
    houses = pl.DataFrame({"house_id": np.arange(len(Hs["use"])), "grid_code": gcode.gather(hgrid),
                           "is_current": Hs["active"], "use": Hs["use"], "residents": res_per_house,
                           "is_vacant": Hs["active"] & ~occupied, "owner_person_id": Hs["owner"]})
    houses.write_parquet(tdir / "houses.parquet")
    members = pl.DataFrame({"member_id": np.arange(len(M["person"])), "person_id": M["person"],
                            "org_code": w.orgs["org_code"].gather(M["org"]), "is_current": M["active"],
                            "lives_in_city": resident[M["person"]]})
    members.write_parquet(tdir / "members.parquet")
    inc = gen.inc["truth"]
    inc.write_parquet(tdir / "incidents.parquet")

    # records: one row per source record as of the final state (written part by part)
    parts = _RecordParts(tdir)
    pr, hr, mr = gen.prec, gen.hrec, gen.mrec
    pp = pr["person"]
    rec_person = pl.DataFrame({
        "source": "household", "table": "persons", "source_record_id": pr["record_id"],
        "entity_type": "person", "entity_id": pl.Series(pp).cast(pl.String), "person_id": pp,
        "household_id": pl.Series(hh[pp]).cast(pl.Int64), "house_id": P["live"][pp],
        "grid_code": person_grid.gather(pp), "is_current": pr["current"], "is_duplicate": pr["is_dup"]})
    parts.add(rec_person)
    del rec_person
    hid = hr["house"]
    rec_house = pl.DataFrame({
        "source": "housing", "table": "houses", "source_record_id": hr["record_id"], "entity_type": "house",
        "entity_id": pl.Series(hid).cast(pl.String), "person_id": Hs["owner"][hid],
        "household_id": np.full(len(hid), -1), "house_id": hid, "grid_code": gcode.gather(hgrid[hid]),
        "is_current": hr["current"] & Hs["active"][hid], "is_duplicate": hr["is_dup"]})
    parts.add(rec_house)
    del rec_house
    mp = M["person"][mr["member"]]
    rec_member = pl.DataFrame({
        "source": "party", "table": "members", "source_record_id": mr["record_id"], "entity_type": "person",
        "entity_id": pl.Series(mp).cast(pl.String), "person_id": mp,
        "household_id": pl.Series(hh[mp]).cast(pl.Int64), "house_id": P["live"][mp],
        "grid_code": person_grid.gather(mp), "is_current": mr["current"] & M["active"][mr["member"]],
        "is_duplicate": np.zeros(len(mp), bool)})
    parts.add(rec_member)
    del rec_member
    single = [gl[0] if len(gl) == 1 else None for gl in org_grids]
    rec_org = pl.DataFrame({
        "source": "party", "table": "orgs", "source_record_id": orgs["org_code"], "entity_type": "party_org",
        "entity_id": orgs["org_idx"].cast(pl.String), "person_id": np.full(orgs.height, -1),
        "household_id": np.full(orgs.height, -1), "house_id": np.full(orgs.height, -1),
        "grid_code": pl.Series([gcode[i] if i is not None else None for i in single], dtype=pl.String),
        "is_current": orgs["active"], "is_duplicate": np.zeros(orgs.height, bool)})
    parts.add(rec_org)
    del rec_org
    rec_inc = inc.select(pl.lit("incident").alias("source"), pl.lit("events").alias("table"),
                         pl.col("incident_id").alias("source_record_id"), pl.lit("incident").alias("entity_type"),
                         pl.col("incident_id").alias("entity_id"), pl.lit(-1).alias("person_id"),
                         pl.lit(-1).alias("household_id"), pl.lit(-1).alias("house_id"), "grid_code",
                         pl.lit(True).alias("is_current"), pl.lit(False).alias("is_duplicate"))
    rec_grid = g.select(pl.lit("grid").alias("source"), pl.lit("grids").alias("table"),
                        pl.col("grid_code").alias("source_record_id"), pl.lit("grid").alias("entity_type"),
                        pl.col("grid_code").alias("entity_id"), pl.lit(-1).alias("person_id"),
                        pl.lit(-1).alias("household_id"), pl.lit(-1).alias("house_id"), "grid_code",
                        pl.lit(True).alias("is_current"), pl.lit(False).alias("is_duplicate"))
    parts.add(rec_inc)
    parts.add(rec_grid)
    del rec_inc, rec_grid
    parts.finish()
    # defects
    if gen.defects:
        pl.scan_parquet([str(x) for x in gen.defects]).sink_parquet(tdir / "defects.parquet")
    else:
        pl.DataFrame(schema={"source": pl.String, "delivery_id": pl.String, "file": pl.String,
                             "source_record_id": pl.String, "kind": pl.String}).write_parquet(tdir / "defects.parquet")
    shutil.rmtree(gen.defect_dir, ignore_errors=True)

    # per-grid counts
    def per_grid(mask, grid_idx):
        return np.bincount(grid_idx[mask], minlength=ng)

    lvl = orgs["level"].to_numpy()
    act = orgs["active"].to_numpy()
    branches = np.zeros(ng, np.int64)
    groups = np.zeros(ng, np.int64)
    for oi, gl in enumerate(org_grids):
        if not act[oi]:
            continue
        if lvl[oi] == "branch":
            branches[gl] += 1
        elif lvl[oi] == "group":
            groups[gl] += 1
    m_act = M["active"]
    m_org_grids = [org_grids[o] for o in M["org"]]
    m_single = np.array([gl[0] if len(gl) == 1 else -1 for gl in m_org_grids])
    hc = Hs["active"]
    grid_counts = pl.DataFrame({
        "grid_code": gcode, "district_code": dcode_of_grid,
        "residents": per_grid(resident, np.maximum(live_grid, 0)),
        "registered_residents": per_grid(registered, np.maximum(live_grid, 0)),
        "floating_residents": per_grid(floating, np.maximum(live_grid, 0)),
        "households": per_grid(counted_hh & (place >= 0), np.maximum(place, 0)),
        "houses": per_grid(hc, hgrid),
        "vacant_houses": per_grid(hc & ~occupied, hgrid),
        "party_members_resident": per_grid(is_member & resident, np.maximum(live_grid, 0)),
        "party_members_by_org_grid": per_grid(m_act & (m_single >= 0), np.maximum(m_single, 0)),
        "party_branches": branches, "party_groups": groups,
    })
    ic = inc.group_by("grid_code").agg(pl.len().alias("incidents"),
                                       pl.col("status").is_in(["待受理", "处置中"]).sum().alias("incidents_open"),
                                       pl.col("is_overdue").sum().alias("incidents_overdue"))
    grid_counts = grid_counts.join(ic, on="grid_code", how="left").with_columns(
        pl.col("incidents", "incidents_open", "incidents_overdue").fill_null(0))
    grid_counts.write_parquet(tdir / "grid_counts.parquet")
    # district and city counts (marts.md count definitions)
    m_org_district = orgs["district_code"].to_numpy()[M["org"]]
    dist_rows = []
    for row in struct.to_dicts():
        dc = row["district_code"]
        gm = grid_counts.filter(pl.col("district_code") == dc)
        row.update({
            "residents": int(gm["residents"].sum()),
            "registered_residents": int(gm["registered_residents"].sum()),
            "floating_residents": int(gm["floating_residents"].sum()),
            "households": int(gm["households"].sum()),
            "houses": int(gm["houses"].sum()),
            "party_members": int((m_act & (m_org_district == dc)).sum()),
        })
        dist_rows.append(row)
    meta["incidents"] = inc.height
    meta["person_records"] = int(len(pr["person"]))
    meta["house_records"] = int(len(hr["house"]))
    meta["member_records"] = int(len(mr["member"]))
    counts = {"meta": meta, "city": _sum(dist_rows), "districts": dist_rows}
    (tdir / "counts.json").write_text(json.dumps(counts, ensure_ascii=False, indent=2), encoding="utf-8")


RECORD_SCHEMA = {"source": pl.String, "table": pl.String, "source_record_id": pl.String,
                 "entity_type": pl.String, "entity_id": pl.String, "person_id": pl.Int64,
                 "household_id": pl.Int64, "house_id": pl.Int64, "grid_code": pl.String,
                 "is_current": pl.Boolean, "is_duplicate": pl.Boolean}


class _RecordParts:
    """records.parquet from per-source parts, concatenated by streaming (bounded memory)."""

    def __init__(self, tdir: Path):
        self.tdir = tdir
        self.dir = tdir / "_record_parts"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir()
        self.paths: list[str] = []

    def add(self, f: pl.DataFrame) -> None:
        f = f.select([pl.col(c).cast(t) for c, t in RECORD_SCHEMA.items()])
        f = f.with_columns([pl.when(pl.col(c) < 0).then(None).otherwise(pl.col(c)).alias(c)
                            for c in ("person_id", "household_id", "house_id")])
        path = self.dir / f"{len(self.paths):02d}.parquet"
        f.write_parquet(path)
        self.paths.append(str(path))

    def finish(self) -> None:
        pl.scan_parquet(self.paths).sink_parquet(self.tdir / "records.parquet")
        shutil.rmtree(self.dir, ignore_errors=True)


def _sum(rows: list[dict]) -> dict:
    out = {}
    for r in rows:
        for k, v in r.items():
            if k == "district_code":
                continue
            out[k] = out.get(k, 0) + v
    return out
