"""The true synthetic city: administrative structure, grids, housing, population, party.

Everything is columnar (numpy arrays / polars frames); nothing loops over persons or
dwellings in Python. Loops run over districts, communities and grids only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.synth import divisions, geo, pools
from pipelines.synth.profiles import Profile

CHECK = np.array(list("10X98765432"))
W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
POW = 10 ** np.arange(16, -1, -1, dtype=np.int64)          # digit places of a 17-digit body

# household kinds
HH_LOCAL, HH_SEP, HH_FLOAT, HH_AWAY = 0, 1, 2, 3
# person statuses (index into contract.RESIDENCY_STATUSES)
ST_SAME, ST_SEP, ST_AWAY, ST_FLOAT = 0, 1, 2, 3
STATUS_NAMES = ("人户一致", "人在户不在", "户在人不在", "流入人口")
RELATIONS = ("户主", "配偶", "子", "女", "父亲", "母亲", "孙子", "孙女", "兄弟姐妹", "其他")
EPOCH = dt.date(1970, 1, 1)


def alloc(total: int, weights: np.ndarray, minimum: int = 1, cap: np.ndarray | None = None) -> np.ndarray:
    """Integer allocation of ``total`` proportional to ``weights`` (largest remainder),
    each at least ``minimum`` and at most ``cap``."""
    w = np.asarray(weights, dtype=float)
    n = len(w)
    base = np.full(n, minimum, dtype=np.int64)
    if cap is not None:
        cap = np.asarray(cap, dtype=np.int64)
        base = np.minimum(base, cap)
    rest = total - base.sum()
    if rest < 0:
        raise ValueError("allocation below minimum")
    out = base.copy()
    while rest > 0:
        room = np.full(n, np.inf) if cap is None else (cap - out).astype(float)
        ok = room > 0
        if not ok.any():
            raise ValueError("allocation over cap")
        share = np.where(ok, w, 0.0)
        share = share / share.sum() * rest
        add = np.minimum(np.floor(share), room).astype(np.int64)
        if add.sum() == 0:
            frac = np.where(ok, share - np.floor(share), -1.0)
            k = int(np.argmax(frac))
            add[k] = 1
        out += add
        rest = total - out.sum()
    return out


def id_bodies(addr: np.ndarray, ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return addr.astype(np.int64) * 10**11 + ymd.astype(np.int64) * 1000 + seq.astype(np.int64)


def check_idx(body: np.ndarray) -> np.ndarray:
    body = np.asarray(body, dtype=np.int64)
    total = np.zeros(len(body), dtype=np.int64)
    for p_, w_ in zip(POW, W):
        total += (body // p_) % 10 * w_
    return total % 11


def id_strings(body: np.ndarray) -> pl.Series:
    return pl.Series(body).cast(pl.String) + pl.Series(CHECK[check_idx(body)])


def days_to_ymd(days: np.ndarray) -> np.ndarray:
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(int) + 1970
    m = d.astype("datetime64[M]").astype(int) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(int) + 1
    return y * 10000 + m * 100 + dd


def to_days(date: dt.date) -> int:
    return (date - EPOCH).days


@dataclass
class World:
    profile: Profile
    scale: float
    seed: int
    rates: dict
    # admin
    districts: pl.DataFrame = None
    streets: pl.DataFrame = None
    communities: pl.DataFrame = None
    grids: pl.DataFrame = None
    grid_geoms: list = None
    community_geoms: list = None
    legacy: pl.DataFrame = None
    # housing
    compounds: dict = None
    buildings: dict = None
    houses: dict = None
    # population: every person the city knows of (registry persons and others)
    P: dict = None
    H: dict = None
    # party
    orgs: pl.DataFrame = None
    M: dict = None
    extra: dict = field(default_factory=dict)


# compact dtypes: 10 million people must fit in a few hundred MB
P_DTYPES = {"household": np.int32, "pos": np.int16, "rel": np.int8, "born": np.int32, "status": np.int8,
            "live": np.int32, "reg": np.int32, "kind": np.int8, "surname": np.int16, "g1": np.int16,
            "g2": np.int16, "minority": np.int16, "ethnicity": np.int8, "id_addr": np.int32,
            "outside": np.int32, "float_origin": np.int8, "phone": np.int64, "id_body": np.int64}


def _rng(seed: int, name: str) -> np.random.Generator:
    key = [seed] + [ord(c) for c in name]
    return np.random.default_rng(np.random.SeedSequence(key))


# --------------------------------------------------------------------------- admin
_NAME_CHARS = "东西南北中兴华新民和平安康宁盛金桂龙凤阳光明月星湖山水泉林园城河桥塘坪坝关营寨屯江岭峰云丰瑞福德顺"


def build_admin(w: World) -> None:
    p, rng = w.profile, _rng(w.seed, "admin")
    d_rows, s_rows, c_rows, g_rows = [], [], [], []
    c_geoms, g_geoms = [], []
    used_names: set[str] = set()
    chars = list(_NAME_CHARS)

    def community_name() -> str:
        while True:
            nm = rng.choice(chars) + rng.choice(chars) + "社区"
            if nm not in used_names and nm[0] != nm[1]:
                used_names.add(nm)
                return nm

    boxes = []
    for di, d in enumerate(p.districts):
        dbox = geo.district_box(d.center, d.grids, p.grid_km2)
        for other in boxes:
            assert not dbox.intersects(other), f"district boxes overlap in profile {p.name}"
        boxes.append(dbox)
        d_rows.append({"district_code": d.code, "district_name": d.name})
        cells = geo.tile(dbox, d.communities, rng, relax=1)
        cx = np.array([c.centroid.x for c in cells])
        cy = np.array([c.centroid.y for c in cells])
        # contiguous streets: order communities along a serpentine over latitude bands
        nb = max(1, int(round(math.sqrt(len(cells) / 2))))
        band = np.minimum(((cy - cy.min()) / max(np.ptp(cy), 1e-9) * nb).astype(int), nb - 1)
        order = np.lexsort((np.where(band % 2 == 0, cx, -cx), band))
        n_streets = len(d.streets)
        per_street = alloc(d.communities, np.ones(n_streets))
        areas = np.array([c.area for c in cells])
        grids_per_comm = alloc(d.grids, areas[order] * rng.uniform(0.7, 1.3, len(cells)))
        k = 0
        for si, sname in enumerate(d.streets):
            scode = f"{d.code}{si + 1:03d}"
            s_rows.append({"street_code": scode, "street_name": sname, "district_code": d.code})
            for ci in range(per_street[si]):
                cell = cells[order[k]]
                ng = int(grids_per_comm[k])
                k += 1
                ccode = f"{scode}{ci + 1:03d}"
                cname = community_name()
                c_rows.append({"community_code": ccode, "community_name": cname, "street_code": scode,
                               "street_name": sname, "district_code": d.code, "district_name": d.name,
                               "n_grids": ng})
                c_geoms.append(cell)
                gcells = geo.tile(cell, ng, rng, relax=1)
                for gi, gcell in enumerate(gcells):
                    g_rows.append({"grid_code": f"{ccode}{gi + 1:03d}", "grid_name": f"{cname}第{gi + 1}网格",
                                   "community_code": ccode, "community_name": cname, "street_code": scode,
                                   "street_name": sname, "district_code": d.code, "district_name": d.name,
                                   "community_idx": len(c_rows) - 1})
                    g_geoms.append(gcell)
    w.districts = pl.DataFrame(d_rows)
    w.streets = pl.DataFrame(s_rows)
    w.communities = pl.DataFrame(c_rows).with_row_index("community_idx")
    g = pl.DataFrame(g_rows).with_row_index("grid_idx")
    n = g.height
    special = rng.random(n) < 0.05
    worker = _names(rng, n)
    g = g.with_columns(
        grid_type=pl.Series(np.where(special, "专属网格", "综合网格")),
        grid_worker=worker,
        grid_worker_phone=_phones(rng, n),
        area_km2=pl.Series([gg.area for gg in g_geoms]) * (geo.KM_PER_DEG ** 2)
        * pl.Series([math.cos(math.radians(gg.centroid.y)) for gg in g_geoms]),
    )
    w.grids = g
    w.grid_geoms = g_geoms
    w.community_geoms = c_geoms
    w.legacy = _legacy(w, rng)


def _legacy(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """Old departmental grids (多网合一) mapped onto unified grids; codes are opaque and unique
    only within their 体系 (综治 and 环卫 deliberately share the same code strings)."""
    n = w.grids.height
    frames = []
    dcodes = w.grids["district_code"].to_numpy()
    for system in ("党建", "综治", "城管", "环卫"):
        per = np.where(rng.random(n) < 0.2, 2, 1)
        gidx = np.repeat(np.arange(n), per)
        perm = rng.permutation(len(gidx))
        gidx = gidx[perm]
        seq = np.arange(1, len(gidx) + 1)
        if system == "党建":
            codes = [f"DJ-{s:05d}" for s in seq]
        elif system == "城管":
            codes = [f"{dcodes[g][2:]}{s:07d}" for g, s in zip(gidx, seq)]
        else:
            codes = [f"{s:06d}" for s in seq]
        frames.append(pl.DataFrame({"legacy_system": system, "legacy_code": codes,
                                    "grid_idx": gidx.astype(np.uint32)}))
    return pl.concat(frames)


def _names(rng: np.random.Generator, n: int) -> pl.Series:
    s = pl.Series(pools.SURNAMES).gather(rng.integers(0, len(pools.SURNAMES), n))
    g1 = pl.Series(pools.GIVEN).gather(rng.integers(0, len(pools.GIVEN), n))
    g2 = pl.Series(pools.GIVEN + [""] * (len(pools.GIVEN) // 2)).gather(
        rng.integers(0, len(pools.GIVEN) * 3 // 2, n))
    return s + g1 + g2


def _phone_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    pre = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 157, 158,
                    159, 170, 176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 199])
    return pre[rng.integers(0, len(pre), n)].astype(np.int64) * 10**8 + rng.integers(0, 10**8, n)


def _phones(rng: np.random.Generator, n: int) -> pl.Series:
    return pl.Series(_phone_numbers(rng, n)).cast(pl.String)


# --------------------------------------------------------------------------- housing
def build_housing(w: World) -> None:
    p, rng, r = w.profile, _rng(w.seed, "housing"), w.rates
    g = w.grids
    ng = g.height
    target_res = p.residents * w.scale
    weight = rng.lognormal(0.0, 0.35, ng) * np.where(g["grid_type"].to_numpy() == "专属网格", 0.3, 1.0)
    hh_g = np.maximum(2, np.round(target_res / 2.62 * weight / weight.sum())).astype(np.int64)
    need = np.ceil(hh_g * rng.uniform(1.08, 1.22, ng)).astype(np.int64) + 2
    # buildings: draw generous candidates per grid, keep until capacity covers the need
    style_p = [0.35, 0.45, 0.2]
    cap_total = np.zeros(ng, dtype=np.int64)
    bl = {k: [] for k in ("grid", "units", "floors", "rpf", "shops")}
    remaining = need.copy()
    for _ in range(20):
        todo = np.nonzero(remaining > 0)[0]
        if len(todo) == 0:
            break
        cand = np.ceil(remaining[todo] / 25).astype(np.int64) + 2
        bg = np.repeat(todo, cand)
        m = len(bg)
        small = np.repeat(remaining[todo] < 80, cand)      # small needs: low-rise buildings
        style = np.where(small, rng.choice(3, m, p=[0.0, 0.3, 0.7]), rng.choice(3, m, p=style_p))
        units = np.where(style == 0, rng.integers(1, 4, m), np.where(style == 1, rng.integers(1, 5, m), 1))
        floors = np.where(style == 0, rng.integers(11, 34, m), np.where(style == 1, rng.integers(5, 10, m),
                                                                        rng.integers(2, 5, m)))
        rpf = np.where(style == 0, rng.integers(2, 5, m), np.where(style == 1, 2, rng.integers(1, 4, m)))
        shops = (style != 0) & (rng.random(m) < 0.25)
        cap = units * floors * rpf - np.where(shops, units * rpf, 0)
        # cumulative capacity within each grid, keep while the need is not yet met
        starts = np.r_[0, np.cumsum(cand)[:-1]]
        cum = np.cumsum(cap)
        cum_in = cum - np.repeat(cum[starts] - cap[starts], cand)
        before = cum_in - cap
        keep = before < np.repeat(remaining[todo], cand)
        for k, v in (("grid", bg), ("units", units), ("floors", floors), ("rpf", rpf), ("shops", shops)):
            bl[k].append(v[keep])
        got = np.bincount(bg[keep], weights=cap[keep], minlength=ng).astype(np.int64)
        remaining = remaining - got
        cap_total += got
    B = {k: np.concatenate(v) for k, v in bl.items()}
    order = np.argsort(B["grid"], kind="stable")
    B = {k: v[order] for k, v in B.items()}
    nb = len(B["grid"])
    # compounds: consecutive buildings of a grid
    grid_start = np.searchsorted(B["grid"], np.arange(ng))
    rank = np.arange(nb) - grid_start[B["grid"]]
    comp_size = rng.integers(3, 11, ng)
    comp_local = rank // comp_size[B["grid"]]
    B["building_no"] = (rank % comp_size[B["grid"]] + 1).astype(np.int64)
    comp_key = B["grid"].astype(np.int64) * 10000 + comp_local
    uniq, B["compound"] = np.unique(comp_key, return_inverse=True)
    nc = len(uniq)
    C = {"grid": (uniq // 10000).astype(np.int64)}
    stems, sufs = pools.COMPOUND_STEMS, pools.COMPOUND_SUFFIXES
    si = rng.integers(0, len(stems), nc)
    sf = rng.integers(0, len(sufs), nc)
    ext = rng.integers(0, 4, nc)
    ext_s = np.array(["", "一期", "二期", "东区"])[ext]
    C["name"] = (pl.Series(stems).gather(si) + pl.Series(sufs).gather(sf) + pl.Series(ext_s))
    C["road"] = rng.integers(0, len(pools.ROADS), nc)
    C["road_no"] = rng.integers(1, 400, nc)
    C["company"] = np.where(rng.random(nc) < r["no_property_company"], -1,
                            rng.integers(0, len(pools.PROPERTY_COMPANIES), nc))
    # building positions: points inside the grid polygon
    lon = np.zeros(nb)
    lat = np.zeros(nb)
    counts = np.bincount(B["grid"], minlength=ng)
    for gi in range(ng):
        if counts[gi]:
            pts = geo.points_in(w.grid_geoms[gi], int(counts[gi]), rng, inset=0.00005)
            s = grid_start[gi]
            lon[s:s + counts[gi]] = pts[:, 0]
            lat[s:s + counts[gi]] = pts[:, 1]
    B["lon"], B["lat"] = lon, lat
    # dwellings
    full_cap = B["units"] * B["floors"] * B["rpf"]
    hb = np.repeat(np.arange(nb), full_cap)
    k = np.arange(len(hb)) - np.repeat(np.cumsum(full_cap) - full_cap, full_cap)
    per_unit = (B["floors"] * B["rpf"])[hb]
    unit = k // per_unit + 1
    rem = k % per_unit
    floor = rem // B["rpf"][hb] + 1
    room = rem % B["rpf"][hb] + 1
    use = np.zeros(len(hb), dtype=np.int8)  # 0 住宅 1 商铺 2 办公 3 其他
    use[(floor == 1) & B["shops"][hb]] = 1
    office_b = rng.random(nb) < 0.03
    use[office_b[hb]] = 2
    use[(use == 0) & (rng.random(len(hb)) < 0.005)] = 3
    nh = len(hb)
    area = np.where(use == 0, rng.normal(96, 22, nh), rng.uniform(25, 220, nh))
    area = np.round(np.clip(area, 18, 400), 2)
    w.buildings = B
    w.compounds = C
    w.houses = {
        "building": hb.astype(np.int32), "grid": B["grid"][hb].astype(np.int32), "unit": unit.astype(np.int16),
        "floor": floor.astype(np.int16), "room": (floor * 100 + room).astype(np.int32),
        "use": use, "area": area, "active": np.ones(nh, dtype=bool),
        "owner": np.full(nh, -1, dtype=np.int32), "status": np.zeros(nh, dtype=np.int8),
    }
    w.extra["hh_per_grid"] = hh_g


# --------------------------------------------------------------------------- population
def _unique_bodies(body: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resample the sequence of colliding identity numbers until every number is unique
    (one sort of everything, then only the few collisions are redrawn)."""
    order = np.argsort(body, kind="stable")
    sb = body[order]
    dup_sorted = np.r_[False, sb[1:] == sb[:-1]]
    taken = sb[~dup_sorted]                       # sorted, unique
    todo = order[dup_sorted]
    accepted: list[np.ndarray] = []
    body = body.copy()
    for _ in range(200):
        if len(todo) == 0:
            break
        cand = body[todo] - body[todo] % 1000 + rng.integers(0, 500, len(todo)) * 2 + np.where(male[todo], 1, 0)
        j = np.searchsorted(taken, cand)
        clash = (j < len(taken)) & (taken[np.minimum(j, len(taken) - 1)] == cand)
        acc = np.concatenate(accepted) if accepted else np.zeros(0, np.int64)
        clash |= np.isin(cand, acc)
        _, first = np.unique(cand, return_index=True)
        firstmask = np.zeros(len(cand), bool)
        firstmask[first] = True
        ok = ~clash & firstmask
        body[todo[ok]] = cand[ok]
        accepted.append(cand[ok])
        todo = todo[~ok]
    return body


def build_population(w: World) -> None:
    p, rng, r = w.profile, _rng(w.seed, "population"), w.rates
    Hs = w.houses
    ng = w.grids.height
    base = to_days(p.base_date)
    # households: pick residential dwellings per grid without replacement
    res = np.nonzero(Hs["use"] == 0)[0]
    res_grid = Hs["grid"][res]
    order = np.lexsort((rng.random(len(res)), res_grid))
    res_sorted, rg_sorted = res[order], res_grid[order]
    starts = np.searchsorted(rg_sorted, np.arange(ng))
    rank = np.arange(len(res_sorted)) - starts[rg_sorted]
    hh_g = w.extra["hh_per_grid"]
    pick = rank < hh_g[rg_sorted]
    hh_dw = res_sorted[pick]
    nhh = len(hh_dw)
    kind = rng.choice(4, nhh, p=[1 - r["hh_separated"] - r["hh_floating"] - r["hh_away"],
                                 r["hh_separated"], r["hh_floating"], r["hh_away"]])
    size = np.where(kind == HH_FLOAT, rng.choice([1, 2, 3, 4], nhh, p=[0.35, 0.3, 0.25, 0.1]),
                    rng.choice([1, 2, 3, 4, 5, 6], nhh, p=[0.15, 0.25, 0.28, 0.2, 0.08, 0.04]))
    # registered dwelling: own dwelling, or (人在户不在) another dwelling of the city
    reg_dw = np.where(kind == HH_SEP, res[rng.integers(0, len(res), nhh)], hh_dw)
    reg_dw = np.where(kind == HH_FLOAT, -1, reg_dw)
    live_dw = np.where(kind == HH_AWAY, -1, hh_dw)
    xinjiang = (kind == HH_FLOAT) & (rng.random(nhh) < 0.03)
    origin = rng.integers(0, len(pools.OTHER_PROVINCES), nhh)   # for 流入 households
    dcode = w.grids["district_code"].cast(pl.Int64).to_numpy()
    hh_district = dcode[Hs["grid"][hh_dw]]
    hh_no = pl.Series(hh_district).cast(pl.String) + pl.Series(np.arange(nhh) + 1000001).cast(pl.String)

    # persons of households
    n = int(size.sum())
    hh = np.repeat(np.arange(nhh), size)
    pos = np.arange(n) - np.repeat(np.cumsum(size) - size, size)
    u = rng.random(n)
    rel = np.full(n, 9, dtype=np.int8)
    rel[pos == 0] = 0
    p1 = pos == 1
    rel[p1] = np.where(u[p1] < 0.85, 1, np.where(u[p1] < 0.95, 2, 4))
    p2 = pos >= 2
    rel[p2] = np.select([u[p2] < 0.72, u[p2] < 0.86, u[p2] < 0.93, u[p2] < 0.97],
                        [2, 4, 6, 8], 9)
    head_age = np.where(kind == HH_FLOAT, rng.uniform(20, 52, nhh), rng.triangular(24, 45, 88, nhh))
    ha = head_age[hh]
    age = np.select(
        [rel == 0, rel == 1, rel == 2, rel == 4, rel == 6, rel == 8],
        [ha, ha + rng.normal(0, 3, n), ha - rng.uniform(22, 36, n), ha + rng.uniform(22, 32, n),
         ha - rng.uniform(45, 60, n), ha + rng.normal(0, 5, n)],
        rng.uniform(18, 70, n))
    age = np.clip(age, 0.05, 99)
    male = rng.random(n) < 0.5
    head_male = rng.random(nhh) < 0.62
    male[rel == 0] = head_male[hh[rel == 0]]
    male[rel == 1] = ~head_male[hh[rel == 1]]
    rel[(rel == 2) & ~male] = 3
    rel[(rel == 4) & ~male] = 5
    rel[(rel == 6) & ~male] = 7
    born = base - np.round(age * 365.25).astype(np.int64) - rng.integers(0, 30, n)
    status = np.select([kind[hh] == HH_LOCAL, kind[hh] == HH_SEP, kind[hh] == HH_FLOAT],
                       [ST_SAME, ST_SEP, ST_FLOAT], ST_AWAY).astype(np.int8)
    away_member = (status == ST_SAME) & (pos > 0) & (age >= 18) & (rng.random(n) < r["member_away"])
    status[away_member] = ST_AWAY
    live = live_dw[hh].copy()
    live[status == ST_AWAY] = -1
    reg = reg_dw[hh].copy()

    # extra people: owners who are not in the registry and party members living elsewhere
    n_owner_ext = int(len(Hs["use"]) * 0.15) + 5
    n_party_ext = int(n * r["party_share"] * 0.7 * r["party_outside"]) + 2
    nx = n_owner_ext + n_party_ext
    N = n + nx
    P = {}
    P["household"] = np.r_[hh, np.full(nx, -1)]
    P["pos"] = np.r_[pos, np.zeros(nx, dtype=np.int64)]
    P["rel"] = np.r_[rel, np.full(nx, 9, dtype=np.int8)]
    P["male"] = np.r_[male, rng.random(nx) < 0.55]
    P["born"] = np.r_[born, base - np.round(rng.uniform(25, 75, nx) * 365.25).astype(np.int64)]
    P["status"] = np.r_[status, np.full(nx, -1, dtype=np.int8)]
    P["live"] = np.r_[live, np.full(nx, -1)]
    P["reg"] = np.r_[reg, np.full(nx, -1)]
    P["in_registry"] = np.r_[np.ones(n, bool), np.zeros(nx, bool)]
    P["alive"] = np.ones(N, bool)
    P["kind"] = np.r_[np.zeros(n, np.int8), np.ones(n_owner_ext, np.int8), np.full(n_party_ext, 2, np.int8)]
    # names: household members share the head's surname except spouses, mothers and others
    ns = len(pools.SURNAMES)
    hh_surname = rng.integers(0, ns, nhh)
    sur = np.r_[hh_surname[hh], rng.integers(0, ns, nx)]
    own = np.r_[np.isin(rel, [1, 5, 9]), np.ones(nx, bool)]
    sur[own] = rng.integers(0, ns, int(own.sum()))
    P["surname"] = sur
    ng_ = len(pools.GIVEN)
    P["g1"] = rng.integers(0, ng_, N)
    P["g2"] = np.where(rng.random(N) < 0.7, rng.integers(0, ng_, N), -1)
    xj = np.r_[xinjiang[hh], np.zeros(nx, bool)]
    P["minority"] = np.where(xj, rng.integers(0, len(pools.MINORITY_FIRST) * len(pools.MINORITY_LAST), N), -1)
    eth_names, eth_p = pools.ETHNICITIES[p.province_code]
    eth = rng.choice(len(eth_names), N, p=eth_p)
    eth_all = eth_names + pools.MINORITY_ETHNICITIES
    eth = np.where(xj, len(eth_names) + rng.integers(0, 2, N), eth)
    P["ethnicity"] = eth
    w.extra["ethnicities"] = eth_all
    # identity numbers: county of registration (sometimes an older/other county), birth, sequence
    pc = pools.PROVINCE_COUNTIES[p.province_code]
    prov_codes = np.array([int(c) for c in pc])
    reg_county = np.where(P["reg"] >= 0, dcode[Hs["grid"][np.maximum(P["reg"], 0)]], 0)
    other_prov = np.array([int(c) for c, _ in pools.OTHER_PROVINCES])
    float_code = other_prov[np.r_[origin[hh], rng.integers(0, len(other_prov), nx)]]
    xj_codes = np.array([int(c) for c in pools.MINORITY_COUNTIES])
    float_code = np.where(xj, xj_codes[rng.integers(0, len(xj_codes), N)], float_code)
    addr = np.where(P["reg"] >= 0, reg_county, float_code)
    older = (P["reg"] >= 0) & (rng.random(N) < 0.15)
    addr = np.where(older, prov_codes[rng.integers(0, len(prov_codes), N)], addr)
    ext_local = (P["kind"] > 0) & (rng.random(N) < 0.5)
    addr = np.where(ext_local, prov_codes[rng.integers(0, len(prov_codes), N)], addr)
    ymd = days_to_ymd(P["born"])
    addr = divisions.codes_at(addr, ymd // 10000)      # a county that existed at birth
    P["id_addr"] = addr
    seq = rng.integers(0, 500, N) * 2 + np.where(P["male"], 1, 0)
    body = id_bodies(addr, ymd, seq)
    body = _unique_bodies(body, P["male"], rng)
    P["id_body"] = body
    phone = _phone_numbers(rng, N)
    no_phone = (rng.random(N) < 0.2) | (P["born"] > base - 16 * 365)
    P["phone"] = np.where(no_phone, 0, phone)
    # where people outside the city live
    P["outside"] = rng.integers(0, len(pools.OUTSIDE_PLACES) * len(pools.OUTSIDE_ROADS) * 50, N)
    P["float_origin"] = np.r_[origin[hh], rng.integers(0, len(pools.OTHER_PROVINCES), nx)]
    for key, t in P_DTYPES.items():
        P[key] = P[key].astype(t)
    w.P = P
    w.H = {"dwelling": hh_dw.astype(np.int32), "kind": kind.astype(np.int8), "no": hh_no,
           "reg": reg_dw.astype(np.int32)}
    _owners(w, rng)


def _owners(w: World, rng: np.random.Generator) -> None:
    """产权人 and 房屋状态: heads own the dwelling they live in (自住) unless they are 流入人口;
    other dwellings belong to registry residents or to owners outside the registry."""
    Hs, P = w.houses, w.P
    nh = len(Hs["use"])
    heads = np.nonzero(P["in_registry"] & (P["pos"] == 0))[0]
    hh_of_head = P["household"][heads]
    dw = w.H["dwelling"][hh_of_head]
    kind = w.H["kind"][hh_of_head]
    occupied = np.zeros(nh, bool)
    occupied[dw[kind != HH_AWAY]] = True
    owner = np.full(nh, -1, dtype=np.int64)
    own_home = (kind == HH_LOCAL) | ((kind == HH_SEP) & (rng.random(len(heads)) < 0.6))
    owner[dw[own_home]] = heads[own_home]
    ext = np.nonzero(P["kind"] == 1)[0]
    rest = owner < 0
    pick_ext = rng.random(nh) < 0.55
    owner = np.where(rest & pick_ext, ext[rng.integers(0, len(ext), nh)], owner)
    owner = np.where((owner < 0), heads[rng.integers(0, len(heads), nh)], owner)
    status = np.where(occupied, np.where(np.isin(np.arange(nh), dw[own_home]), 0, 1), 2).astype(np.int8)
    status[(Hs["use"] != 0) & (rng.random(nh) < 0.5)] = 1
    Hs["owner"], Hs["status"] = owner.astype(np.int32), status


# --------------------------------------------------------------------------- party
def build_party(w: World, members: bool = True) -> None:
    p, rng = w.profile, _rng(w.seed, "party")
    g, c, s = w.grids, w.communities, w.streets
    rows = []
    seq = [0]

    def code(district: str) -> str:
        seq[0] += 1
        return f"{district}{seq[0]:07d}"

    d_of_street = dict(zip(s["street_code"], s["district_code"]))
    street_org = {}
    for sc, sn in zip(s["street_code"], s["street_name"]):
        oc = code(d_of_street[sc])
        street_org[sc] = oc
        rows.append(dict(org_code=oc, org_name=f"中共{sn}工作委员会", org_type="党工委", parent="",
                         grids=[], level="street", district_code=d_of_street[sc]))
    # community organisations: 党委 for big communities, 党总支 otherwise
    comm_org = {}
    for ci, (cc, cn, sc, ngr) in enumerate(zip(c["community_code"], c["community_name"], c["street_code"],
                                               c["n_grids"])):
        oc = code(d_of_street[sc])
        comm_org[ci] = oc
        big = ngr >= 8
        rows.append(dict(org_code=oc, org_name=f"中共{cn}{'委员会' if big else '总支部委员会'}",
                         org_type="党委" if big else "党总支", parent=street_org[sc], grids=[],
                         level="community", district_code=d_of_street[sc]))
    # grid branches: partition each community's grids; every community gets at least one
    grids_of_comm = g.group_by("community_idx", maintain_order=True).agg(pl.col("grid_idx"))
    gl = {int(k): list(v) for k, v in zip(grids_of_comm["community_idx"], grids_of_comm["grid_idx"])}
    ncomm = c.height
    nbr = alloc(p.grid_branches, c["n_grids"].to_numpy().astype(float), minimum=1,
                cap=c["n_grids"].to_numpy())
    branch_grids: list[list[int]] = []
    branch_rows = []
    for ci in range(ncomm):
        gs = gl[ci]
        parts = np.array_split(np.array(gs), nbr[ci])
        cn = c["community_name"][ci]
        for bi, part in enumerate(parts):
            oc = code(c["district_code"][ci])
            branch_rows.append(len(rows))
            branch_grids.append([int(x) for x in part])
            rows.append(dict(org_code=oc, org_name=f"中共{cn}第{bi + 1}网格党支部", org_type="党支部",
                             parent=comm_org[ci], grids=[int(x) for x in part], level="branch",
                             district_code=c["district_code"][ci]))
    # party groups: one grid each, allocated to branches by their grid count
    sizes = np.array([len(x) for x in branch_grids])
    ngrp = alloc(p.party_groups, sizes.astype(float), minimum=0, cap=sizes)
    for bi, (row_i, bg) in enumerate(zip(branch_rows, branch_grids)):
        for j in range(ngrp[bi]):
            oc = code(rows[row_i]["district_code"])
            rows.append(dict(org_code=oc, org_name=rows[row_i]["org_name"].replace("党支部", f"第{j + 1}党小组"),
                             org_type="党小组", parent=rows[row_i]["org_code"], grids=[bg[j]], level="group",
                             district_code=rows[row_i]["district_code"]))
    n = len(rows)
    orgs = pl.DataFrame(rows).with_row_index("org_idx")
    legacy_cov = rng.random(n) < 0.15
    founded = to_days(dt.date(2005, 1, 1)) + rng.integers(0, 7000, n)
    orgs = orgs.with_columns(
        secretary=_names(rng, n),
        founded=pl.Series(founded),
        legacy_cov=pl.Series(legacy_cov),
        active=pl.lit(True),
    )
    w.orgs = orgs
    if members:
        _members(w, rng)


def _members(w: World, rng: np.random.Generator) -> None:
    P, r = w.P, w.rates
    base = to_days(w.profile.base_date)
    orgs = w.orgs
    N = len(P["born"])
    age = (base - P["born"]) / 365.25
    eligible = P["in_registry"] & (age >= 20)
    prob = r["party_share"] * np.clip((age - 18) / 30, 0.3, 1.6)
    member = eligible & (rng.random(N) < prob)
    member |= P["kind"] == 2
    pid = np.nonzero(member)[0]
    m = len(pid)
    # organisation: a group on the grid where they live (or are registered), else that grid's branch
    gridf = np.where(P["live"][pid] >= 0, w.houses["grid"][np.maximum(P["live"][pid], 0)],
                     np.where(P["reg"][pid] >= 0, w.houses["grid"][np.maximum(P["reg"][pid], 0)], -1))
    lvl = orgs["level"].to_numpy()
    grids_l = orgs["grids"].to_list()
    ng = w.grids.height
    group_of = np.full(ng, -1)
    branch_of = np.full(ng, -1)
    for oi in range(orgs.height):
        if lvl[oi] == "group":
            group_of[grids_l[oi][0]] = oi
        elif lvl[oi] == "branch":
            branch_of[grids_l[oi]] = oi
    branches = np.nonzero(lvl == "branch")[0]
    gsafe = np.maximum(gridf, 0)
    org = np.where((group_of[gsafe] >= 0) & (rng.random(m) < 0.75), group_of[gsafe], branch_of[gsafe])
    org = np.where(gridf < 0, branches[rng.integers(0, len(branches), m)], org)
    joined = P["born"][pid] + np.round(rng.uniform(19, 45, m) * 365.25).astype(np.int64)
    joined = np.minimum(joined, base - rng.integers(30, 3000, m))
    prob_mem = joined > base - 365
    full = np.where(prob_mem, -1, joined + 365)
    ma = age[pid]
    live_out = P["live"][pid] < 0
    state = np.where(live_out, 2, np.where(ma >= 60, 1, np.where(rng.random(m) < 0.9, 0, 3)))  # 在职 离退休 流动 其他
    dual = (state == 0) & ~live_out & (rng.random(m) < 0.35)
    w.M = {
        "person": pid, "org": org, "joined": joined, "full": full, "state": state.astype(np.int8),
        "edu": rng.choice(len(pools.EDUCATION), m, p=pools.EDUCATION_P),
        "employer": rng.integers(0, len(pools.EMPLOYERS), m), "dual": dual,
        "active": np.ones(m, bool),
    }
