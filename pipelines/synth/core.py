"""generate(): build the true city, write every delivery and the ground truth."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl
from tqdm import tqdm

from pipelines import config
from pipelines.synth import divisions, render, truth, world
from pipelines.synth import incidents as inc_mod
from pipelines.synth.profiles import PROFILES, Profile
from pipelines.synth.world import (
    HH_FLOAT,
    ST_AWAY,
    ST_SAME,
    ST_SEP,
    World,
    _rng,
    to_days,
)
from pipelines.synth.writers import (
    XLSX_MAX_ROWS,
    write_csv,
    write_geojson,
    write_manifest,
    write_xlsx,
)


def delivery_ids(profile: Profile) -> list[str]:
    return [(profile.base_date + dt.timedelta(days=d)).strftime("%Y%m%d") for d in range(profile.days)]


def extracted_at(profile: Profile, day: int) -> str:
    return f"{profile.base_date + dt.timedelta(days=day):%Y-%m-%d}T02:00:00+08:00"


class Generator:
    def __init__(self, profile: Profile, out: Path, scale: float, seed: int, progress: bool,
                 structure_only: bool = False):
        self.p = profile
        self.out = Path(out)
        self.scale = scale
        self.seed = seed
        self.structure_only = structure_only
        self.w = World(profile, scale, seed, dict(profile.rates))
        self.defects: list[pl.DataFrame] = []
        self.bar = tqdm(total=0, disable=not progress, unit="step", desc=f"synth {profile.name}")
        self.timings: dict[str, float] = {}
        self.tdir = config.truth_dir(self.out)
        self.tdir.mkdir(parents=True, exist_ok=True)
        self.defect_dir = self.tdir / "_defect_parts"
        if self.defect_dir.exists():
            shutil.rmtree(self.defect_dir)
        self.defect_dir.mkdir()

    # ------------------------------------------------------------------ helpers
    def step(self, name: str):
        now = time.perf_counter()
        if getattr(self, "_name", None):
            self.timings[self._name] = {"seconds": round(now - self._t, 2), "maxrss_mb": _maxrss_mb()}
        self.bar.set_postfix_str(name)
        self.bar.update(1)
        self._t = now
        self._name = name

    def _ddir(self, source: str, did: str) -> Path:
        d = self.out / source / did
        d.mkdir(parents=True, exist_ok=False)
        return d

    def _record_defects(self, source: str, did: str, file: str, df: pl.DataFrame) -> None:
        """Defects go to small parquet parts (bounded memory), merged by truth.write_truth."""
        if df.height:
            part = self.defect_dir / f"{len(self.defects):05d}.parquet"
            df.with_columns(source=pl.lit(source), delivery_id=pl.lit(did), file=pl.lit(file)).select(
                "source", "delivery_id", "file", "source_record_id", "kind").write_parquet(part)
            self.defects.append(part)

    # ------------------------------------------------------------------ world
    def build(self) -> None:
        w = self.w
        self.bar.total = 4 if self.structure_only else 11 + self.p.days
        self.step("admin and grids")
        world.build_admin(w)
        if self.structure_only:
            world.build_party(w, members=False)
            return
        self.step("housing")
        world.build_housing(w)
        self.step("population")
        world.build_population(w)
        self.step("party")
        world.build_party(w)
        self.step("records")
        self._make_records()
        self.step("incidents")
        self.inc = inc_mod.build_incidents(w)

    def _make_records(self) -> None:
        w, r = self.w, self.w.rates
        rng = _rng(self.seed, "records")
        P = w.P
        hh = P["household"][P["in_registry"]]
        sizes = np.bincount(hh, minlength=len(w.H["dwelling"]))
        w.extra["hh_size"] = sizes
        w.extra["hh_first_person"] = np.r_[0, np.cumsum(sizes)[:-1]]
        # person records (household registry), some people registered twice
        reg = np.nonzero(P["in_registry"])[0]
        dup = reg[rng.random(len(reg)) < r["duplicate_person"]]
        persons = np.r_[reg, dup]
        is_dup = np.r_[np.zeros(len(reg), bool), np.ones(len(dup), bool)]
        ch = render.person_choices(w, persons, rng, dup=is_dup)
        self.prec = self._rec(persons, "person", ch, is_dup, rng, prefix="RK", width=10)
        # house records, some dwellings registered twice
        nh = len(w.houses["use"])
        hdup = np.nonzero(rng.random(nh) < r["duplicate_house"])[0]
        houses = np.r_[np.arange(nh), hdup]
        h_is_dup = np.r_[np.zeros(nh, bool), np.ones(len(hdup), bool)]
        self.hrec = self._rec(houses, "house", self._house_choices(houses, h_is_dup, rng), h_is_dup, rng,
                              prefix="FW", width=12)
        # party member records
        m = len(w.M["person"])
        mch = render.person_choices(w, w.M["person"], rng)
        self.mrec = self._rec(np.arange(m), "member", mch, np.zeros(m, bool), rng, prefix="DY", width=9)

    def _house_choices(self, houses, is_dup, rng) -> dict:
        w = self.w
        n = len(houses)
        jitter = np.where(is_dup & (rng.random(n) < 0.6), np.round(rng.uniform(-3, 3, n), 2), 0.0)
        return {
            "addr": render.address_choices(rng, n, w.rates),
            "owner": render.person_choices(w, w.houses["owner"][houses], rng),
            "bcol": rng.choice(3, n, p=[0.6, 0.3, 0.1]).astype(np.int8),
            "ucol": rng.choice(2, n, p=[0.7, 0.3]).astype(np.int8),
            "area_jitter": jitter,
        }

    def _rec(self, ent, key, choices, is_dup, rng, prefix, width) -> dict:
        n = len(ent)
        offset = int(rng.integers(10**(width - 2), 10**(width - 1)))
        nums = rng.permutation(n) + offset
        ids = pl.Series(nums).cast(pl.String).str.zfill(width)
        rid = pl.DataFrame({"x": ids}).select(pl.lit(prefix) + pl.col("x"))[:, 0].alias("record_id")
        return {key: np.asarray(ent), "record_id": rid, "choices": choices, "is_dup": is_dup,
                "current": np.ones(n, bool), "next": offset + n}

    # ------------------------------------------------------------------ full deliveries
    def write_full(self) -> None:
        w, p = self.w, self.p
        did = delivery_ids(p)[0]
        ex = extracted_at(p, 0)
        self.step("grid delivery")
        self._write_grid(did, ex)
        if self.structure_only:
            return
        self.step("household full")
        idx = np.argsort(self.prec["record_id"].to_numpy(), kind="stable")
        self._persons(did, ex, "full", idx)
        self.step("housing full")
        idx = np.argsort(self.hrec["record_id"].to_numpy(), kind="stable")
        self._houses(did, ex, "full", idx)
        self.step("party full")
        self._party(did, ex, "full", np.argsort(self.mrec["record_id"].to_numpy(), kind="stable"),
                    np.arange(w.orgs.height))
        self._incident(0)

    def _write_grid(self, did: str, ex: str) -> None:
        w = self.w
        d = self._ddir("grid", did)
        g = w.grids
        cols = {"网格编码": "grid_code", "网格名称": "grid_name", "网格类型": "grid_type", "社区编码": "community_code",
                "社区名称": "community_name", "街道编码": "street_code", "街道名称": "street_name",
                "区县编码": "district_code", "区县名称": "district_name", "网格员": "grid_worker",
                "网格员电话": "grid_worker_phone"}
        props = g.select([pl.col(v).alias(k) for k, v in cols.items()]).to_dicts()
        feats = []
        import shapely
        for pr, geom in zip(props, w.grid_geoms):
            geom = shapely.set_precision(geom, 1e-7) if False else geom
            gj = shapely.geometry.mapping(geom)
            gj = _round_geom(gj)
            feats.append({"type": "Feature", "properties": pr, "geometry": gj})
        n1 = write_geojson(feats, d / "grids.geojson")
        lm = w.legacy.with_columns(grid_code=w.grids["grid_code"].gather(w.legacy["grid_idx"])).select(
            pl.col("legacy_system").alias("原网格体系"), pl.col("legacy_code").alias("原网格编码"),
            pl.col("grid_code").alias("统一网格编码"))
        n2 = write_csv(lm, d / "legacy_grid_map.csv", "utf-8")
        write_manifest(d, "grid", did, "full", ex, [("grids.geojson", "geojson", "utf-8", n1),
                                                   ("legacy_grid_map.csv", "csv", "utf-8", n2)])

    def _persons(self, did, ex, kind, idx, change=None, change_day=None) -> None:
        d = self._ddir("household", did)
        step = 200_000
        path = d / "persons.csv"
        rows = 0
        with open(path, "wb") as fh:
            for s in range(0, max(len(idx), 1), step):
                part = idx[s:s + step]
                ch = None if change is None else change[s:s + step]
                df, de = render.persons_rows(self.w, self.prec, part, ch, change_day)
                df = df.with_columns(pl.when(pl.all() == "").then(None).otherwise(pl.all()).name.keep())
                text = df.write_csv(include_header=(s == 0), quote_style="necessary")
                fh.write(text.encode("gb18030"))
                rows += df.height
                self._record_defects("household", did, "persons.csv", de)
        write_manifest(d, "household", did, kind, ex, [("persons.csv", "csv", "gb18030", rows)])

    def _houses(self, did, ex, kind, idx, change=None) -> None:
        d = self._ddir("housing", did)
        n = len(idx)
        files = []
        nfiles = max(1, -(-n // XLSX_MAX_ROWS))
        for f in range(nfiles):
            part = idx[f * XLSX_MAX_ROWS:(f + 1) * XLSX_MAX_ROWS]
            ch = None if change is None else change[f * XLSX_MAX_ROWS:(f + 1) * XLSX_MAX_ROWS]
            name = "houses.xlsx" if nfiles == 1 else f"houses_{f + 1:03d}.xlsx"
            df, de = render.houses_rows(self.w, self.hrec, part, ch)
            rows = write_xlsx(df, d / name, "房屋", {"建筑面积", "经度", "纬度"})
            self._record_defects("housing", did, name, de)
            files.append((name, "xlsx", None, rows))
        write_manifest(d, "housing", did, kind, ex, files)

    def _party(self, did, ex, kind, midx, oidx, mchange=None, ochange=None) -> None:
        d = self._ddir("party", did)
        files = []
        if kind == "full" or len(midx):
            df, de = render.members_rows(self.w, self.mrec, midx, mchange)
            files.append(("members.csv", "csv", "utf-8-sig", write_csv(df, d / "members.csv", "utf-8-sig")))
            self._record_defects("party", did, "members.csv", de)
        if kind == "full" or len(oidx):
            df, de = render.orgs_rows(self.w, oidx, ochange)
            files.append(("orgs.csv", "csv", "utf-8-sig", write_csv(df, d / "orgs.csv", "utf-8-sig")))
            self._record_defects("party", did, "orgs.csv", de)
        if not files:
            shutil.rmtree(d)
            return
        write_manifest(d, "party", did, kind, ex, files)

    def _incident(self, day: int) -> None:
        did = delivery_ids(self.p)[day]
        d = self._ddir("incident", did)
        lines, defects = inc_mod.event_lines(self.inc, day)
        if defects:
            self._record_defects("incident", did, "events.jsonl", pl.DataFrame(
                defects, schema={"source_record_id": pl.String, "kind": pl.String}, orient="row"))
        with open(d / "events.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for ln in lines:
                fh.write(ln + "\n")
        write_manifest(d, "incident", did, "full" if day == 0 else "delta", extracted_at(self.p, day),
                       [("events.jsonl", "jsonl", "utf-8", len(lines))])

    # ------------------------------------------------------------------ deltas
    def write_deltas(self) -> None:
        for day in range(1, self.p.days):
            self.step(f"deltas day {day}")
            self._delta_day(day)

    def _n(self, rate: float, base: int) -> int:
        return max(1, int(round(rate * base)))

    def _delta_day(self, day: int) -> None:
        w, r, P, Hs = self.w, self.w.rates, self.w.P, self.w.houses
        rng = _rng(self.seed, f"delta{day}")
        did = delivery_ids(self.p)[day]
        ex = extracted_at(self.p, day)
        cday = to_days(self.p.base_date) + day - 1         # changes happened the day before
        resident = P["in_registry"] & P["alive"] & (P["live"] >= 0)
        nres = int(resident.sum())
        person_changes: dict[int, str] = {}
        house_changed: set[int] = set()
        member_changes: dict[int, str] = {}
        occupied = np.zeros(len(Hs["use"]), bool)
        occupied[P["live"][resident]] = True
        vacant = np.nonzero((Hs["use"] == 0) & Hs["active"] & ~occupied)[0]
        vacant = vacant[rng.permutation(len(vacant))]
        vi = 0
        # 1. households moving to another dwelling of the city
        res_idx = np.nonzero(resident)[0]
        want = self._n(r["moves"] / 2.6, nres)
        hh_res = np.unique(P["household"][res_idx[rng.integers(0, len(res_idx), 3 * want + 10)]])
        k = min(want, len(hh_res), len(vacant) // 2)
        chosen = np.sort(rng.choice(hh_res, k, replace=False))
        new_dw = vacant[vi:vi + k]
        vi += k
        mem = np.nonzero(resident & _member_of(P["household"], chosen, len(self.w.H["dwelling"])))[0]
        newd = new_dw[np.searchsorted(chosen, P["household"][mem])]
        old = P["live"][mem].copy()
        P["live"][mem] = newd
        st = P["status"][mem]
        st = np.where(st == ST_SAME, ST_SEP, st)
        st = np.where((P["reg"][mem] == newd) & (st == ST_SEP), ST_SAME, st)   # moved back home
        P["status"][mem] = st
        Hs["status"][old] = 2
        Hs["status"][newd] = 1
        house_changed.update(old.tolist())
        house_changed.update(newd.tolist())
        person_changes.update(dict.fromkeys(mem.tolist(), "变更"))
        resident = P["in_registry"] & P["alive"] & (P["live"] >= 0)
        # 2. people leaving the city to work elsewhere (户在人不在)
        cand = np.nonzero(resident & (P["status"] == ST_SAME) & (P["pos"] > 0))[0]
        for m in rng.choice(cand, min(len(cand), self._n(r["moves"] / 3, nres)), replace=False):
            P["status"][m] = ST_AWAY
            P["live"][m] = -1
            person_changes[int(m)] = "变更"
        # 3. deaths
        age = (cday - P["born"]) / 365.25
        cand = np.nonzero(resident & (age >= 65) & (P["live"] >= 0))[0]
        cand = np.setdiff1d(cand, np.fromiter(person_changes, dtype=np.int64, count=len(person_changes)))
        dead = rng.choice(cand, min(len(cand), self._n(r["deaths"], nres)), replace=False)
        for m in dead:
            P["alive"][m] = False
            person_changes[int(m)] = "死亡"
        # 4. 迁出: people registered here but living elsewhere move their registration out
        cand = np.nonzero(P["in_registry"] & P["alive"] & (P["status"] == ST_AWAY))[0]
        cand = np.setdiff1d(cand, np.fromiter(person_changes, dtype=np.int64, count=len(person_changes)))
        for m in rng.choice(cand, min(len(cand), self._n(r["move_out"], nres)), replace=False):
            P["in_registry"][m] = False
            person_changes[int(m)] = "迁出"
        # 5. births and 6. newly arrived 流入 households: new persons
        new_people = []
        heads = np.nonzero(resident & (P["pos"] == 0) & (age >= 24) & (age <= 45) & P["alive"])[0]
        for hd in rng.choice(heads, min(len(heads), self._n(r["births"], nres)), replace=False):
            new_people.append(dict(household=P["household"][hd], rel=2, like=hd, born=cday,
                                   surname=P["surname"][hd]))
        nf = min(self._n(r["new_floating"] / 2, nres), len(vacant) - vi)
        dws = vacant[vi:vi + nf]
        vi += nf
        hnew = self._new_households(dws)
        Hs["status"][dws] = 1
        house_changed.update(dws.tolist())
        sizes = rng.integers(1, 4, nf)
        for h, dw, size in zip(hnew.tolist(), dws.tolist(), sizes.tolist()):
            for j in range(size):
                new_people.append(dict(household=h, rel=0 if j == 0 else (1 if j == 1 else 2), like=None,
                                       born=cday - int(rng.uniform(1 if j > 1 else 20, 15 if j > 1 else 50) * 365.25),
                                       surname=None, dwelling=dw))
        if new_people:
            new_ids = self._add_persons(new_people, rng)
            for m in new_ids:
                person_changes[int(m)] = "新增"
        # person records of the changed persons (every record of a person registered twice)
        if person_changes:
            pids = np.fromiter(person_changes, dtype=np.int64)
            kinds = np.array([person_changes[int(x)] for x in pids], dtype=object)
            lookup = dict(zip(pids.tolist(), kinds.tolist()))
            ridx = np.nonzero(_member_of(self.prec["person"], pids, len(P["born"])) & self.prec["current"])[0]
            ch = np.array([lookup[int(x)] for x in self.prec["person"][ridx]], dtype=object)
            ridx_sorted = np.argsort(self.prec["record_id"].to_numpy()[ridx], kind="stable")
            ridx, ch = ridx[ridx_sorted], ch[ridx_sorted]
            self._persons(did, ex, "delta", ridx, ch, cday)
            ended = np.isin(ch, ["死亡", "迁出"])
            self.prec["current"][ridx[ended]] = False
        # housing: status changes, some duplicate registrations and vacant dwellings cancelled
        hrec = self.hrec
        dup_live = np.nonzero(hrec["is_dup"] & hrec["current"])[0]
        cancel_dup = rng.choice(dup_live, min(len(dup_live), self._n(r["house_cancel"] / 2, len(Hs["use"]))), replace=False) if len(dup_live) else np.zeros(0, int)
        occupied = np.zeros(len(Hs["use"]), bool)
        res_now = P["in_registry"] & P["alive"] & (P["live"] >= 0)
        occupied[P["live"][res_now]] = True
        empty = np.nonzero(Hs["active"] & ~occupied & (Hs["use"] != 0))[0]
        gone = rng.choice(empty, min(len(empty), self._n(r["house_cancel"] / 2, len(Hs["use"]))), replace=False) if len(empty) else np.zeros(0, int)
        Hs["active"][gone] = False
        sell = rng.choice(len(Hs["use"]), self._n(r["house_change"] / 2, len(Hs["use"])), replace=False)
        sell = sell[Hs["active"][sell]]
        ext = np.nonzero(P["kind"] == 1)[0]
        Hs["owner"][sell] = ext[rng.integers(0, len(ext), len(sell))]
        house_changed.update(sell.tolist())
        changed = np.array(sorted(house_changed - set(gone.tolist())), dtype=np.int64)
        rows, kinds = [], []
        if len(changed):
            ri = np.nonzero(_member_of(hrec["house"], changed, len(Hs["use"])) & hrec["current"])[0]
            rows.append(ri); kinds.append(np.full(len(ri), "变更", dtype=object))
        ri = np.nonzero(_member_of(hrec["house"], gone, len(Hs["use"])) & hrec["current"])[0]
        rows.append(ri); kinds.append(np.full(len(ri), "注销", dtype=object))
        rows.append(cancel_dup); kinds.append(np.full(len(cancel_dup), "注销", dtype=object))
        hidx = np.concatenate(rows).astype(np.int64)
        hch = np.concatenate(kinds)
        hidx, first = np.unique(hidx, return_index=True)
        hch = hch[first]
        if len(hidx):
            self._houses(did, ex, "delta", hidx, hch)
            hrec["current"][hidx[hch == "注销"]] = False
        # party: deaths, transfers out, new members, probationers becoming full members
        M = w.M
        mp = M["person"]
        for mi in np.nonzero(M["active"] & np.isin(mp, dead))[0]:
            member_changes[int(mi)] = "死亡"
        act = np.nonzero(M["active"])[0]
        act = np.setdiff1d(act, np.fromiter(member_changes, dtype=np.int64, count=len(member_changes)))
        for mi in rng.choice(act, min(len(act), self._n(r["member_transfer"], len(mp))), replace=False):
            member_changes[int(mi)] = "转出"
        prob = np.nonzero(M["active"] & (M["full"] < 0) & (M["joined"] + 365 <= cday))[0]
        for mi in prob:
            if int(mi) not in member_changes:
                M["full"][mi] = M["joined"][mi] + 365
                member_changes[int(mi)] = "变更"
        res_now = P["in_registry"] & P["alive"] & (P["live"] >= 0)
        age = (cday - P["born"]) / 365.25
        already = np.zeros(len(P["born"]), bool)
        already[mp[M["active"]]] = True
        cand = np.nonzero(res_now & (age >= 20) & ~already)[0]
        newm = rng.choice(cand, min(len(cand), self._n(r["member_new"], len(mp))), replace=False)
        if len(newm):
            for mi in self._add_members(newm, cday, rng):
                member_changes[int(mi)] = "新增"
        for mi, c in member_changes.items():
            if c in ("死亡", "转出"):
                M["active"][mi] = False
        # organisations: on day 3 a party group is dissolved (撤销) and re-founded under a new
        # code (新增) covering the same grid; its members move to the new group (变更)
        oidx, och = np.zeros(0, np.int64), None
        if day == 3:
            oidx, och = self._reorganise_group(rng, member_changes)
        if member_changes or len(oidx):
            mids = np.fromiter(member_changes, dtype=np.int64, count=len(member_changes))
            ridx = np.nonzero(np.isin(self.mrec["member"], mids) & self.mrec["current"])[0]
            ch = np.array([member_changes[int(x)] for x in self.mrec["member"][ridx]], dtype=object)
            self._party(did, ex, "delta", ridx, oidx, ch, och)
            self.mrec["current"][ridx[np.isin(ch, ["死亡", "转出"])]] = False
        self._incident(day)

    def _reorganise_group(self, rng, member_changes: dict) -> tuple[np.ndarray, np.ndarray]:
        w = self.w
        o = w.orgs
        groups = np.nonzero((o["level"].to_numpy() == "group") & o["active"].to_numpy())[0]
        if not len(groups):
            return np.zeros(0, np.int64), None
        old = int(rng.choice(groups))
        row = o.row(old, named=True)
        new = o.height
        code = f"{row['district_code']}{9000000 + new:07d}"
        add = pl.DataFrame([{**row, "org_idx": new, "org_code": code, "active": True,
                             "founded": int(to_days(self.p.base_date) + 2)}], schema=o.schema)
        w.orgs = pl.concat([o.with_columns(pl.when(pl.col("org_idx") == old).then(False)
                                           .otherwise(pl.col("active")).alias("active")), add])
        moved = np.nonzero(w.M["active"] & (w.M["org"] == old))[0]
        w.M["org"][moved] = new
        for mi in moved:
            member_changes.setdefault(int(mi), "变更")
        return np.array([old, new]), np.array(["撤销", "新增"], dtype=object)

    def _new_households(self, dwellings: np.ndarray) -> np.ndarray:
        """Append 流入 households living in ``dwellings`` (one batch per delta day)."""
        w = self.w
        k = len(dwellings)
        h0 = len(w.H["dwelling"])
        dcodes = w.grids["district_code"].to_numpy()[w.houses["grid"][dwellings]]
        w.H["dwelling"] = np.r_[w.H["dwelling"], dwellings].astype(np.int32)
        w.H["kind"] = np.r_[w.H["kind"], np.full(k, HH_FLOAT)].astype(np.int8)
        w.H["reg"] = np.r_[w.H["reg"], np.full(k, -1)].astype(np.int32)
        w.H["no"] = pl.concat([w.H["no"], pl.Series([f"{d}{h0 + i + 1000001}" for i, d in enumerate(dcodes)],
                                                     dtype=pl.String)])
        w.extra["hh_size"] = np.r_[w.extra["hh_size"], np.zeros(k, dtype=w.extra["hh_size"].dtype)]
        w.extra["hh_first_person"] = np.r_[w.extra["hh_first_person"], np.full(k, len(w.P["born"]))]
        return np.arange(h0, h0 + k)

    def _add_persons(self, people: list[dict], rng) -> np.ndarray:
        """Append new persons (births, arrivals) with their person records."""
        w, P = self.w, self.w.P
        from pipelines.synth import pools
        n0 = len(P["born"])
        k = len(people)
        add = {key: [] for key in P}
        for pp in people:
            like = pp.get("like")
            h = pp["household"]
            male = bool(rng.random() < 0.5)
            if like is not None:      # a birth into the household of ``like``
                live, reg, status = P["live"][like], P["reg"][like], P["status"][like]
                id_addr = int(w.grids["district_code"][int(w.houses["grid"][max(reg, 0)])]) if reg >= 0 else P["id_addr"][like]
                origin = P["float_origin"][like]
                rel = 2 if male else 3
            else:                     # a new 流入 household member
                live, reg, status = pp["dwelling"], -1, world.ST_FLOAT
                origin = int(rng.integers(0, len(pools.OTHER_PROVINCES)))
                id_addr = int(pools.OTHER_PROVINCES[origin][0])
                rel = pp["rel"]
                if rel == 1 and add["male"]:
                    male = not add["male"][-1]
                if rel == 2 and not male:
                    rel = 3
            w.extra["hh_size"][h] += 1
            vals = dict(household=h, pos=w.extra["hh_size"][h] - 1, rel=rel, male=male, born=pp["born"],
                        status=status, live=live, reg=reg, in_registry=True, alive=True, kind=0,
                        surname=pp["surname"] if pp["surname"] is not None else int(rng.integers(0, len(pools.SURNAMES))),
                        g1=int(rng.integers(0, len(pools.GIVEN))),
                        g2=int(rng.integers(0, len(pools.GIVEN))) if rng.random() < 0.7 else -1,
                        minority=-1, ethnicity=0, id_addr=id_addr, id_body=0, phone=0,
                        outside=int(rng.integers(0, 10000)), float_origin=origin)
            for key in P:
                add[key].append(vals[key])
        # identity numbers, unique against everyone
        ymd = world.days_to_ymd(np.array(add["born"]))
        if "id_sorted" not in self.w.extra:
            self.w.extra["id_sorted"] = np.sort(P["id_body"])
            self.w.extra["id_new"] = set()
        srt, new_ids = self.w.extra["id_sorted"], self.w.extra["id_new"]
        bodies = []
        add["id_addr"] = [divisions.code_at(int(a), int(y) // 10000) for a, y in zip(add["id_addr"], ymd)]
        for a, y, m in zip(add["id_addr"], ymd, add["male"]):
            while True:
                seq = int(rng.integers(0, 500)) * 2 + (1 if m else 0)
                b = int(a) * 10**11 + int(y) * 1000 + seq
                j = np.searchsorted(srt, b)
                if b not in new_ids and not (j < len(srt) and srt[j] == b):
                    new_ids.add(b)
                    bodies.append(b)
                    break
        add["id_body"] = bodies
        for key in P:
            P[key] = np.concatenate([P[key], np.array(add[key], dtype=P[key].dtype)])
        new = np.arange(n0, n0 + k)
        # relative-copy defects need contiguous households, which only the initial population has
        # only for the initial population, so births get no relative-copy defect
        ch = render.person_choices(w, new, rng)
        ch["id_kind"] = np.where(ch["id_kind"] == 8, 0, ch["id_kind"])
        self._append_rec(self.prec, "person", new, ch, prefix="RK", width=10, rng=rng)
        return new

    def _append_rec(self, rec, key, ent, ch, prefix, width, rng) -> None:
        n = len(ent)
        ids = [f"{prefix}{rec['next'] + i:0{width}d}" for i in range(n)]
        rec["next"] += n
        rec[key] = np.r_[rec[key], ent]
        rec["record_id"] = rec["record_id"].append(pl.Series(ids))
        rec["choices"] = render.concat_choices(rec["choices"], ch)
        rec["is_dup"] = np.r_[rec["is_dup"], np.zeros(n, bool)]
        rec["current"] = np.r_[rec["current"], np.ones(n, bool)]

    def _add_members(self, persons: np.ndarray, cday: int, rng) -> np.ndarray:
        w, M, P = self.w, self.w.M, self.w.P
        m0 = len(M["person"])
        k = len(persons)
        grid = w.houses["grid"][P["live"][persons]]
        lvl = w.orgs["level"].to_numpy()
        glist = w.orgs["grids"].to_list()
        branch_of = {}
        for oi in np.nonzero(lvl == "branch")[0]:
            for g in glist[oi]:
                branch_of[g] = oi
        org = np.array([branch_of[int(g)] for g in grid])
        M["person"] = np.r_[M["person"], persons]
        M["org"] = np.r_[M["org"], org]
        M["joined"] = np.r_[M["joined"], np.full(k, cday)]
        M["full"] = np.r_[M["full"], np.full(k, -1)]
        M["state"] = np.r_[M["state"], np.zeros(k, np.int8)]
        M["edu"] = np.r_[M["edu"], rng.integers(0, 4, k)]
        M["employer"] = np.r_[M["employer"], rng.integers(0, 10, k)]
        M["dual"] = np.r_[M["dual"], np.zeros(k, bool)]
        M["active"] = np.r_[M["active"], np.ones(k, bool)]
        new = np.arange(m0, m0 + k)
        self._append_rec(self.mrec, "member", new, render.person_choices(w, persons, rng), prefix="DY",
                         width=9, rng=rng)
        return new

    # ------------------------------------------------------------------ finish
    def finish(self) -> Path:
        self.step("ground truth")
        tdir = self.tdir
        truth.write_truth(self, tdir)
        self.step("")
        (tdir / "timings.json").write_text(json.dumps(self.timings, indent=1), encoding="utf-8")
        self.bar.close()
        return tdir


def _member_of(values: np.ndarray, chosen: np.ndarray, size: int) -> np.ndarray:
    """``np.isin(values, chosen)`` for ids in [0, size) (negative values: False), by lookup."""
    mark = np.zeros(size + 1, bool)
    mark[np.asarray(chosen, dtype=np.int64)] = True
    return mark[np.where(values >= 0, values, size)]


def _maxrss_mb() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _round_geom(gj: dict) -> dict:
    def rnd(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(c[0], 7), round(c[1], 7)]
        return [rnd(x) for x in c]
    return {"type": gj["type"], "coordinates": rnd(gj["coordinates"])}


def planned_folders(profile: Profile, out: Path) -> list[Path]:
    ids = delivery_ids(profile)
    folders = [out / "grid" / ids[0]]
    for source in ("household", "housing", "party", "incident"):
        folders += [out / source / i for i in ids]
    return folders


def generate(profile: str, out: Path, scale: float = 1.0, seed: int = 0, progress: bool = True,
             structure_only: bool = False) -> Path:
    """Write a synthetic city's deliveries under the landing root ``out`` and its ground truth
    beside it (``config.truth_dir(out)``); returns the truth directory.

    Refuses to write into a delivery folder that already exists (nothing is overwritten).
    ``structure_only`` writes only the grid delivery and the structural truth (fast; tests).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile '{profile}' (one of {', '.join(PROFILES)})")
    if scale <= 0:
        raise ValueError("scale must be positive")
    prof = PROFILES[profile]
    out = Path(out)
    clash = [f for f in planned_folders(prof, out) if f.exists()]
    if clash:
        raise FileExistsError(f"landing root already holds {len(clash)} of the deliveries to write "
                              f"(e.g. {clash[0].relative_to(out)}); refusing to overwrite")
    out.mkdir(parents=True, exist_ok=True)
    gen = Generator(prof, out, scale, seed, progress, structure_only=structure_only)
    gen.build()
    gen.write_full()
    if not structure_only:
        gen.write_deltas()
    return gen.finish()
