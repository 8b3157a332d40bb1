"""Rendering the true city into source rows, with per-record variation and defects.

Each source record draws its variations once (``*_choices``), so a record looks the same in
every delivery it appears in, except for the fields that really changed. Rendering is
vectorised: values are gathered from pools by index and composed with polars expressions.
Every function returns (rows DataFrame with the contract's Chinese columns, defects
DataFrame [source_record_id, kind]).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from pipelines.lib.contract import HOUSE_STATUSES, HOUSE_USES
from pipelines.synth import pools
from pipelines.synth.world import (
    CHECK,
    RELATIONS,
    STATUS_NAMES,
    World,
    check_idx,
    days_to_ymd,
)

FULLWIDTH = {str(i): chr(0xFF10 + i) for i in range(10)}
DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%Y/%-m/%-d", "%Y年%-m月%-d日")
DATE_FMT_P = (0.25, 0.6, 0.08, 0.07)

ID_KINDS = ("ok", "id_lower_x", "id_fullwidth", "id_spaces", "id_legacy15", "id_bad_check",
            "id_empty", "id_wrong_valid", "id_relative_copy")


@lru_cache(maxsize=1)
def trad_map() -> tuple[list[str], list[str]]:
    """Simplified → Traditional for every character the generator writes, keeping only
    characters whose Traditional form converts back to the same Simplified one."""
    import opencc

    s2t, t2s = opencc.OpenCC("s2t"), opencc.OpenCC("t2s")
    text = "".join(pools.SURNAMES + pools.GIVEN + list(pools.HOMOPHONES.values()) + pools.ROADS
                   + pools.COMPOUND_STEMS + pools.COMPOUND_SUFFIXES + pools.PROPERTY_COMPANIES
                   + [p for _, p in pools.OTHER_PROVINCES] + pools.OUTSIDE_PLACES + pools.OUTSIDE_ROADS
                   + pools.CN_NUMBERS + pools.MINORITY_FIRST + pools.MINORITY_LAST)
    text += "东西南北中兴华新民和平安康宁盛金桂龙凤阳光明月星湖山水泉林园城河桥塘坪坝关营寨屯江岭峰云丰瑞福德顺"
    text += "贵州省黔西南布依族苗族自治州兴义市仁普晴隆贞望谟册亨县区街道社区网格栋幢号楼单元室江西景德镇昌珠浮梁乐平"
    text += "黄草泰都桔坪木贾下五洒栖霞万峰马岭敬南真武陆官巴铃茶源盘坡莲观宝照珉谷永双者相鲁贡王母洞蔗香楼高洛冗渡秧坝凤春潭钱招堤"
    text += "郊枫鲇鱼荷塘周路口村厂狮埠里太白园河竟成洎阳塔涌礼"
    src, dst = [], []
    for ch in dict.fromkeys(text):
        t = s2t.convert(ch)
        if t != ch and len(t) == 1 and t2s.convert(t) == ch:
            src.append(ch)
            dst.append(t)
    return src, dst


def to_trad(e: pl.Expr) -> pl.Expr:
    src, dst = trad_map()
    return e.str.replace_many(src, dst)


def to_fullwidth(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(list(FULLWIDTH), list(FULLWIDTH.values()))


def apply_where(s: pl.Series, mask: np.ndarray, fn) -> pl.Series:
    """``fn`` applied only to the rows in ``mask`` (a transform costs nothing for the rest)."""
    idx = np.nonzero(np.asarray(mask, bool))[0]
    if len(idx) == 0:
        return s
    return s.clone().scatter(idx, fn(s.gather(idx)))


def trad_s(s: pl.Series) -> pl.Series:
    src, dst = trad_map()
    return s.str.replace_many(src, dst)


def fullwidth_s(s: pl.Series) -> pl.Series:
    return s.str.replace_many(list(FULLWIDTH), list(FULLWIDTH.values()))


def _gather(pool, idx) -> pl.Series:
    return pl.Series(list(pool), dtype=pl.String).gather(np.asarray(idx))


def fmt_dates(days: np.ndarray, fmt: np.ndarray) -> pl.Series:
    """Dates (days since 1970, <0 or null → empty) in the per-row format index."""
    days = np.asarray(days)
    fmt = np.asarray(fmt)
    valid = days > -40000
    d = pl.Series(np.where(valid, days, 0)).cast(pl.Int32).cast(pl.Date)
    out = pl.Series(np.full(len(days), None, dtype=object), dtype=pl.String)
    for i, f in enumerate(DATE_FORMATS):
        idx = np.nonzero(valid & (fmt == i))[0]
        if len(idx):
            out = out.scatter(idx, d.gather(idx).dt.strftime(f))
    return out


def _defects(ids: pl.Series, masks: dict[str, np.ndarray]) -> pl.DataFrame:
    frames = []
    for kind, m in masks.items():
        m = np.asarray(m, bool)
        if m.any():
            frames.append(pl.DataFrame({"source_record_id": ids.filter(pl.Series(m)), "kind": kind}))
    if not frames:
        return pl.DataFrame(schema={"source_record_id": pl.String, "kind": pl.String})
    return pl.concat(frames)


# --------------------------------------------------------------------------- choices
def address_choices(rng: np.random.Generator, n: int, r: dict) -> dict:
    return {
        "prefix": rng.choice(4, n, p=[0.45, 0.25, 0.2, 0.1]).astype(np.int8),
        "cn": rng.random(n) < 0.15,
        "bsuf": rng.choice(3, n, p=[0.7, 0.15, 0.15]).astype(np.int8),
        "unit_omit": rng.random(n) < 0.5,
        "no_room": rng.random(n) < 0.3,
        "fullwidth": rng.random(n) < r["address_fullwidth"],
        "trad": rng.random(n) < r["address_traditional"],
    }


def person_choices(w: World, persons: np.ndarray, rng: np.random.Generator, dup: np.ndarray | None = None) -> dict:
    """Per-record variation of a household/party record of these persons."""
    r, P = w.rates, w.P
    n = len(persons)
    body = P["id_body"][persons]
    x = CHECK[check_idx(body)] == "X"
    year = days_to_ymd(P["born"][persons]) // 10000
    kind = np.zeros(n, dtype=np.int8)
    u = rng.random(n)
    cuts = [("id_fullwidth", 2), ("id_spaces", 3), ("id_legacy15", 4), ("id_bad_check", 5),
            ("id_empty", 6), ("id_wrong_valid", 7), ("id_relative_copy", 8)]
    lo = 0.0
    for key, k in cuts:
        hi = lo + r[key]
        kind[(u >= lo) & (u < hi)] = k
        lo = hi
    kind[(kind == 4) & ~((year >= 1900) & (year <= 1999))] = 0
    hh = P["household"][persons]
    kind[(kind == 8) & (hh < 0)] = 0
    kind[(kind == 0) & x & (rng.random(n) < r["id_lower_x"])] = 1
    floating = P["status"][persons] == 3
    kind[floating & (rng.random(n) < r["floating_no_id"])] = 6
    name_def = np.where(rng.random(n) < r["name_typo"], 1, np.where(rng.random(n) < r["name_traditional"], 2, 0))
    if dup is not None:
        # a duplicate registration differs a little: a typo in the name or another date format
        name_def = np.where(dup & (rng.random(n) < 0.5), 1, name_def)
    ch = {
        "id_kind": kind,
        "name_def": name_def.astype(np.int8),
        "sep": rng.choice(4, n, p=[0.4, 0.2, 0.2, 0.2]).astype(np.int8),
        "date_fmt": rng.choice(4, n, p=DATE_FMT_P).astype(np.int8),
        "gcode": rng.random(n) < r["gender_code"],
        "wrong_digit": rng.integers(1, 10, n).astype(np.int8),
        "bad_shift": rng.integers(1, 11, n).astype(np.int8),
        "addr": address_choices(rng, n, r),
    }
    return ch


def slice_choices(ch: dict, idx: np.ndarray) -> dict:
    out = {}
    for k, v in ch.items():
        out[k] = slice_choices(v, idx) if isinstance(v, dict) else v[idx]
    return out


def concat_choices(a: dict, b: dict) -> dict:
    out = {}
    for k, v in a.items():
        out[k] = concat_choices(v, b[k]) if isinstance(v, dict) else np.concatenate([v, b[k]])
    return out


# --------------------------------------------------------------------------- text pieces
def city_prefixes(w: World) -> tuple[str, str]:
    p = w.profile
    short = p.city_name[:3] + "州" if p.city_name.endswith("自治州") else p.city_name
    return p.province_name + p.city_name, short


def _addr_tables(w: World) -> dict:
    t = w.extra.get("addr_tables")
    if t is None:
        C = w.compounds
        full, short = city_prefixes(w)
        dnames = w.districts["district_name"].to_list()
        dindex = {d: i for i, d in enumerate(w.districts["district_code"].to_list())}
        prefixes = [p for d in dnames for p in (full + d, short + d, d, "")]
        bnums = [(pools.CN_NUMBERS[i] if cn else str(i)) + suf
                 for cn in (0, 1) for i in range(100) for suf in ("栋", "幢", "号楼")]
        t = {
            "core": _gather(pools.ROADS, C["road"]) + pl.Series(C["road_no"]).cast(pl.String) + "号" + C["name"],
            "grid_district": np.array([dindex[c] for c in w.grids["district_code"].to_list()]),
            "prefixes": pl.Series(prefixes, dtype=pl.String),
            "bnums": pl.Series(bnums, dtype=pl.String),
            "units": pl.Series([""] + [f"{i}单元" for i in range(1, 100)], dtype=pl.String),
            "rooms": pl.Series(["室", ""], dtype=pl.String),
        }
        w.extra["addr_tables"] = t
    return t


def dwelling_addresses(w: World, dw: np.ndarray, ch: dict) -> tuple[pl.Series, np.ndarray]:
    """Addresses of dwellings ``dw`` (all >= 0) with per-row variants; returns the strings
    and a mask of rows that differ from the canonical form. Every piece is a gather from a
    small table, then one concatenation."""
    Hs, B = w.houses, w.buildings
    t = _addr_tables(w)
    b = Hs["building"][dw]
    c = B["compound"][b]
    g = Hs["grid"][dw]
    prefix = t["prefixes"].gather(t["grid_district"][g] * 4 + ch["prefix"])
    bno = B["building_no"][b]
    bnum = t["bnums"].gather(ch["cn"].astype(np.int64) * 300 + bno * 3 + ch["bsuf"])
    single = B["units"][b] == 1
    omit = ch["unit_omit"] & single
    unit = t["units"].gather(np.where(omit, 0, Hs["unit"][dw]))
    room = pl.Series(Hs["room"][dw]).cast(pl.String)
    rsuf = t["rooms"].gather(ch["no_room"].astype(np.int8))
    df = pl.DataFrame({"p": prefix, "c": t["core"].gather(c), "b": bnum, "u": unit, "r": room, "s": rsuf})
    s = df.select(pl.concat_str(["p", "c", "b", "u", "r", "s"]).alias("a"))["a"]
    s = apply_where(s, ch["fullwidth"], fullwidth_s)
    s = apply_where(s, ch["trad"], trad_s)
    variant = (ch["prefix"] != 0) | ch["cn"] | (ch["bsuf"] != 0) | omit | ch["no_room"]
    return s, variant


def outside_addresses(code: np.ndarray) -> pl.Series:
    places, roads = pools.OUTSIDE_PLACES, pools.OUTSIDE_ROADS
    pi = code % len(places)
    ri = (code // len(places)) % len(roads)
    no = code // (len(places) * len(roads)) + 1
    return _gather(places, pi) + _gather(roads, ri) + pl.Series(no).cast(pl.String) + "号"


def other_province_addresses(origin: np.ndarray, code: np.ndarray) -> pl.Series:
    pre = _gather([p for _, p in pools.OTHER_PROVINCES], origin)
    ri = code % len(pools.ROADS)
    no = code // len(pools.ROADS) % 300 + 1
    return pre + _gather(pools.ROADS, ri) + pl.Series(no).cast(pl.String) + "号"


def person_names(w: World, persons: np.ndarray, ch: dict) -> tuple[pl.Series, dict]:
    P = w.P
    g1 = P["g1"][persons].astype(np.int64)
    typo = ch["name_def"] == 1
    given = pools.GIVEN
    homo = np.array([pools.HOMOPHONES.get(c, c) for c in given])
    g1s = _gather(given + list(homo), g1 + typo * len(given))
    g2 = P["g2"][persons].astype(np.int64)
    g2s = _gather(given + [""], np.where(g2 >= 0, g2, len(given)))
    han = _gather(pools.SURNAMES, P["surname"][persons]) + g1s + g2s
    mi = P["minority"][persons]
    nf = len(pools.MINORITY_FIRST)
    minority = mi >= 0
    first = _gather(pools.MINORITY_FIRST, np.maximum(mi, 0) % nf)
    last = _gather(pools.MINORITY_LAST, np.maximum(mi, 0) // nf % len(pools.MINORITY_LAST))
    sep = _gather(pools.MINORITY_SEPS, ch["sep"])
    df = pl.DataFrame({"han": han, "m": minority, "f": first, "l": last, "s": sep})
    e = pl.when(pl.col("m")).then(pl.col("f") + pl.col("s") + pl.col("l")).otherwise(pl.col("han"))
    names = df.select(e.alias("n"))["n"]
    names = apply_where(names, ch["name_def"] == 2, trad_s)
    real_typo = typo & (homo[g1] != np.array(given)[g1]) & ~minority
    return names, {"name_typo": real_typo, "name_traditional": ch["name_def"] == 2,
                   "name_separator_variant": minority & (ch["sep"] != 0)}


def id_numbers(w: World, persons: np.ndarray, ch: dict) -> tuple[pl.Series, dict]:
    P = w.P
    body = P["id_body"][persons].copy()
    kind = ch["id_kind"]
    # a relative's number: the head's, or for the head the next member's
    rel_copy = kind == 8
    if rel_copy.any():
        hh = P["household"][persons]
        starts = w.extra["hh_first_person"]
        sizes = w.extra["hh_size"]
        head = starts[np.maximum(hh, 0)]
        other = np.where(head == persons, np.where(sizes[np.maximum(hh, 0)] > 1, head + 1, head), head)
        body = np.where(rel_copy, P["id_body"][other], body)
        kind = np.where(rel_copy & (other == persons), 0, kind)
    # a mistyped digit (the sequence's tens digit) with the check character recomputed
    wv = kind == 7
    tens = (body // 10) % 10
    newt = (tens + ch["wrong_digit"]) % 10
    body = np.where(wv, body - tens * 10 + newt * 10, body)
    ci = check_idx(body)
    ci = np.where(kind == 5, (ci + ch["bad_shift"]) % 11, ci)
    s = pl.Series(body).cast(pl.String)
    chk = pl.Series(CHECK[ci])
    df = pl.DataFrame({"s": s, "c": chk, "k": kind})
    full = pl.col("s") + pl.col("c")
    k = pl.col("k")
    e = (pl.when(k == 1).then(pl.col("s") + pl.col("c").str.to_lowercase())
         .when(k == 2).then(full.str.replace_many(list(FULLWIDTH), list(FULLWIDTH.values())))
         .when(k == 3).then(pl.col("s").str.slice(0, 6) + " " + pl.col("s").str.slice(6, 8) + " "
                            + pl.col("s").str.slice(14, 3) + pl.col("c"))
         .when(k == 4).then(pl.col("s").str.slice(0, 6) + pl.col("s").str.slice(8, 9))
         .when(k == 6).then(pl.lit(""))
         .otherwise(full))
    out = df.select(e.alias("id"))["id"]
    masks = {ID_KINDS[i]: kind == i for i in range(1, len(ID_KINDS))}
    return out, masks


def phones(num: np.ndarray) -> pl.Series:
    return pl.Series(num).cast(pl.String).replace("0", "")


def genders(male: np.ndarray, code: np.ndarray) -> pl.Series:
    return _gather(["男", "女", "1", "2"], (~np.asarray(male, bool)).astype(np.int8) + 2 * np.asarray(code, np.int8))


def empty_strings(n: int) -> pl.Series:
    return pl.repeat(None, n, dtype=pl.String, eager=True)


def change_col(change, n: int) -> pl.Series:
    return empty_strings(n) if change is None else pl.Series(list(change), dtype=pl.String)


# --------------------------------------------------------------------------- sources
PERSON_COLS = ["人员编号", "公民身份号码", "姓名", "性别", "民族", "出生日期", "户号", "与户主关系",
               "户籍地址", "现住址", "人户状态", "联系电话", "变动类型", "变动日期"]


def persons_rows(w: World, rec: dict, idx: np.ndarray, change: np.ndarray | None = None,
                 change_day: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """household/persons rows for person records ``idx`` (positions in ``rec``)."""
    P = w.P
    pid = rec["person"][idx]
    ids = rec["record_id"].gather(idx)
    ch = slice_choices(rec["choices"], idx)
    name, nmask = person_names(w, pid, ch)
    idn, imask = id_numbers(w, pid, ch)
    live, reg = P["live"][pid], P["reg"][pid]
    both = np.r_[live, reg]
    chb = concat_choices(ch["addr"], ch["addr"])
    addr_s, var = dwelling_addresses(w, np.maximum(both, 0), chb) if len(both) else (pl.Series([], dtype=pl.String), np.zeros(0, bool))
    n = len(pid)
    cur_in, reg_in = addr_s[:n], addr_s[n:]
    out_i = np.nonzero(live < 0)[0]
    cur = cur_in.scatter(out_i, outside_addresses(P["outside"][pid[out_i]])) if len(out_i) else cur_in
    oth_i = np.nonzero(reg < 0)[0]
    regs = (reg_in.scatter(oth_i, other_province_addresses(P["float_origin"][pid[oth_i]], P["outside"][pid[oth_i]]))
            if len(oth_i) else reg_in)
    hh = P["household"][pid]
    ch_date = np.full(n, -99999) if change_day is None else np.full(n, change_day)
    df = pl.DataFrame({
        "人员编号": ids,
        "公民身份号码": idn,
        "姓名": name,
        "性别": genders(P["male"][pid], ch["gcode"]),
        "民族": _gather(w.extra["ethnicities"], P["ethnicity"][pid]),
        "出生日期": fmt_dates(P["born"][pid], ch["date_fmt"]),
        "户号": w.H["no"].gather(np.maximum(hh, 0)),
        "与户主关系": _gather(RELATIONS, P["rel"][pid]),
        "户籍地址": regs,
        "现住址": cur,
        "人户状态": _gather(STATUS_NAMES, P["status"][pid]),
        "联系电话": phones(P["phone"][pid]),
        "变动类型": change_col(change, n),
        "变动日期": fmt_dates(ch_date, ch["date_fmt"]),
    })
    addr_var = (var[:n] & (live >= 0)) | (var[n:] & (reg >= 0))
    masks = {**imask, **nmask,
             "date_format": ch["date_fmt"] != 1,
             "gender_code": ch["gcode"],
             "address_variant": addr_var,
             "address_fullwidth": ch["addr"]["fullwidth"] & ((live >= 0) | (reg >= 0)),
             "address_traditional": ch["addr"]["trad"] & ((live >= 0) | (reg >= 0)),
             "duplicate_record": rec["is_dup"][idx]}
    return df, _defects(ids, masks)


HOUSE_COLS = ["房屋编码", "区县", "街道", "社区", "小区名称", "地址", "楼栋", "单元", "楼层", "房号",
              "建筑面积", "房屋用途", "房屋状态", "产权人", "产权人证件号码", "物业企业", "经度", "纬度", "变动类型"]


def _lagging_names(w: World) -> pl.Series:
    """Community names as the housing bureau writes them: every tenth community still under
    its old 居委会 name (the bureau lags renames)."""
    cn = w.grids["community_name"]
    lag = w.grids["community_idx"].to_numpy() % 10 == 3
    return pl.Series(np.where(lag, cn.str.replace("社区$", "居委会").to_numpy(), cn.to_numpy()), dtype=pl.String)


def houses_rows(w: World, rec: dict, idx: np.ndarray, change: np.ndarray | None = None):
    Hs, B, C = w.houses, w.buildings, w.compounds
    hid = rec["house"][idx]
    ids = rec["record_id"].gather(idx)
    ch = slice_choices(rec["choices"], idx)
    n = len(hid)
    b = Hs["building"][hid]
    c = B["compound"][b]
    g = Hs["grid"][hid]
    addr, var = dwelling_addresses(w, hid, ch["addr"])
    owner = Hs["owner"][hid]
    oname, nmask = person_names(w, owner, ch["owner"])
    oid, imask = id_numbers(w, owner, ch["owner"])
    bno = pl.Series(B["building_no"][b]).cast(pl.String)
    bstyle = ch["bcol"]
    bcol = pl.DataFrame({"b": bno, "s": bstyle}).select(
        pl.when(pl.col("s") == 0).then(pl.col("b") + "栋").when(pl.col("s") == 1).then(pl.col("b"))
        .otherwise(pl.col("b") + "号楼"))[:, 0]
    single = B["units"][b] == 1
    ucol = pl.DataFrame({"u": pl.Series(Hs["unit"][hid]).cast(pl.String), "s": ch["ucol"], "o": single & ch["addr"]["unit_omit"]}).select(
        pl.when(pl.col("o")).then(pl.lit("")).when(pl.col("s") == 0).then(pl.col("u") + "单元").otherwise(pl.col("u")))[:, 0]
    comp = C["company"][c]
    area = np.round(Hs["area"][hid] + ch["area_jitter"], 2)
    df = pl.DataFrame({
        "房屋编码": ids,
        "区县": w.grids["district_name"].gather(g),
        "街道": w.grids["street_name"].gather(g),
        "社区": _lagging_names(w).gather(g),
        "小区名称": C["name"].gather(c),
        "地址": addr,
        "楼栋": bcol,
        "单元": ucol,
        "楼层": pl.Series(Hs["floor"][hid]).cast(pl.String),
        "房号": pl.Series(Hs["room"][hid]).cast(pl.String),
        "建筑面积": area,
        "房屋用途": _gather(HOUSE_USES, Hs["use"][hid]),
        "房屋状态": _gather(HOUSE_STATUSES, Hs["status"][hid]),
        "产权人": oname,
        "产权人证件号码": oid,
        "物业企业": _gather(pools.PROPERTY_COMPANIES + [""], np.where(comp >= 0, comp, len(pools.PROPERTY_COMPANIES))),
        "经度": np.round(B["lon"][b], 6),
        "纬度": np.round(B["lat"][b], 6),
        "变动类型": change_col(change, n),
    })
    masks = {"address_variant": var, "address_fullwidth": ch["addr"]["fullwidth"],
             "address_traditional": ch["addr"]["trad"], "duplicate_record": rec["is_dup"][idx],
             "community_name_lags": w.grids["community_idx"].to_numpy()[g] % 10 == 3,
             "area_differs": ch["area_jitter"] != 0, "no_property_company": comp < 0}
    masks.update({"owner_" + k: v for k, v in imask.items()})
    masks.update({"owner_" + k: v for k, v in nmask.items()})
    return df, _defects(ids, masks)


MEMBER_COLS = ["党员编号", "姓名", "公民身份号码", "性别", "出生日期", "民族", "学历", "入党日期", "转正日期",
               "党员类别", "人员状态", "所在党组织编码", "工作单位", "居住地址", "双报到社区", "联系电话", "变动类型"]
MEMBER_STATES = ("在职", "离退休", "流动", "其他")


def members_rows(w: World, rec: dict, idx: np.ndarray, change: np.ndarray | None = None):
    P, M = w.P, w.M
    mi = rec["member"][idx]
    pid = M["person"][mi]
    ids = rec["record_id"].gather(idx)
    ch = slice_choices(rec["choices"], idx)
    n = len(mi)
    name, nmask = person_names(w, pid, ch)
    idn, imask = id_numbers(w, pid, ch)
    live = P["live"][pid]
    home_in, var = dwelling_addresses(w, np.maximum(live, 0), ch["addr"])
    home = pl.DataFrame({"a": home_in, "b": outside_addresses(P["outside"][pid]), "m": live >= 0}).select(
        pl.when(pl.col("m")).then(pl.col("a")).otherwise(pl.col("b")))[:, 0]
    g = w.houses["grid"][np.maximum(live, 0)]
    cn = w.grids["community_name"]
    dual = pl.concat([cn, pl.Series([""])]).gather(np.where(M["dual"][mi] & (live >= 0), g, len(cn)))
    full = M["full"][mi]
    df = pl.DataFrame({
        "党员编号": ids,
        "姓名": name,
        "公民身份号码": idn,
        "性别": genders(P["male"][pid], ch["gcode"]),
        "出生日期": fmt_dates(P["born"][pid], ch["date_fmt"]),
        "民族": _gather(w.extra["ethnicities"], P["ethnicity"][pid]),
        "学历": _gather(pools.EDUCATION, M["edu"][mi]),
        "入党日期": fmt_dates(M["joined"][mi], ch["date_fmt"]),
        "转正日期": fmt_dates(np.where(full >= 0, full, -99999), ch["date_fmt"]),
        "党员类别": _gather(["正式党员", "预备党员"], (full < 0).astype(np.int8)),
        "人员状态": _gather(MEMBER_STATES, M["state"][mi]),
        "所在党组织编码": w.orgs["org_code"].gather(M["org"][mi]),
        "工作单位": _gather(pools.EMPLOYERS, M["employer"][mi]),
        "居住地址": home,
        "双报到社区": dual,
        "联系电话": phones(P["phone"][pid]),
        "变动类型": change_col(change, n),
    })
    masks = {**imask, **nmask, "date_format": ch["date_fmt"] != 1, "gender_code": ch["gcode"],
             "address_variant": var & (live >= 0), "address_fullwidth": ch["addr"]["fullwidth"] & (live >= 0),
             "address_traditional": ch["addr"]["trad"] & (live >= 0), "lives_outside_city": live < 0}
    return df, _defects(ids, masks)


ORG_COLS = ["组织编码", "组织名称", "组织类别", "上级组织编码", "覆盖网格编码", "书记", "成立日期", "变动类型"]


def orgs_rows(w: World, idx: np.ndarray, change: np.ndarray | None = None, rng=None):
    o = w.orgs[idx]
    gcodes = w.grids["grid_code"].to_list()
    leg = w.legacy.filter(pl.col("legacy_system") == "党建")
    leg_by_grid: dict[int, list[str]] = {}
    for code, gi in zip(leg["legacy_code"], leg["grid_idx"]):
        leg_by_grid.setdefault(int(gi), []).append(code)
    cov = []
    for grids, use_legacy in zip(o["grids"].to_list(), o["legacy_cov"].to_list()):
        if not grids:
            cov.append("")
        elif use_legacy:
            cov.append(";".join(c for gi in grids for c in leg_by_grid[gi]))
        else:
            cov.append(";".join(gcodes[gi] for gi in grids))
    n = o.height
    fmt = (np.asarray(idx) * 7919 % 4).astype(np.int8)   # stable per organisation
    df = pl.DataFrame({
        "组织编码": o["org_code"], "组织名称": o["org_name"], "组织类别": o["org_type"],
        "上级组织编码": o["parent"], "覆盖网格编码": pl.Series(cov, dtype=pl.String), "书记": o["secretary"],
        "成立日期": fmt_dates(o["founded"].to_numpy(), fmt),
        "变动类型": change_col(change, n),
    })
    masks = {"legacy_grid_codes": o["legacy_cov"].to_numpy() & (o["grids"].list.len().to_numpy() > 0),
             "date_format": fmt != 1}
    return df, _defects(o["org_code"], masks)
