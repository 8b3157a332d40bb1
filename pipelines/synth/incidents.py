"""Grid events (事件) moving through their workflow, delivered as daily JSON Lines deltas.

Events are drawn in bulk with numpy; the workflow of each event (a handful of steps) is laid
out in a short Python loop over events (tens of thousands at most, never persons).
"""

from __future__ import annotations

import datetime as dt
import json

import chinese_calendar
import numpy as np
import polars as pl

from pipelines.lib.gcj02 import wgs_to_gcj
from pipelines.synth import geo, pools
from pipelines.synth.world import World, _rng

CHANNELS = ("网格员上报", "12345热线", "随手拍", "城管巡查")
CHANNEL_P = (0.45, 0.2, 0.2, 0.15)
CENTER = "网格化服务管理中心"
TS = "%Y-%m-%d %H:%M:%S"


def _is_workday(d: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:       # the package stops at 2026: plain weekdays after it
        return d.weekday() < 5


class WorkClock:
    """Working-day clock: 24 h a day on working days of the official calendar."""

    def __init__(self, start: dt.date, days: int):
        self.start = start
        self.dates = [start + dt.timedelta(days=i) for i in range(days)]
        self.work = np.array([_is_workday(d) for d in self.dates])
        self.before = np.r_[0, np.cumsum(self.work)[:-1]]           # working days before day i
        self.work_idx = np.nonzero(self.work)[0]

    def _day(self, t: dt.datetime) -> int:
        return (t.date() - self.start).days

    def w(self, t: dt.datetime) -> float:
        i = self._day(t)
        sec = (t - dt.datetime.combine(t.date(), dt.time())).total_seconds()
        return self.before[i] * 86400.0 + (sec if self.work[i] else 0.0)

    def deadline(self, dispatched: dt.datetime, hours: float) -> dt.datetime:
        target = self.w(dispatched) + hours * 3600.0
        q = int(np.ceil(target / 86400.0)) - 1
        day = self.dates[self.work_idx[q]]
        return dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=target - q * 86400.0)


def build_incidents(w: World) -> dict:
    p, rng = w.profile, _rng(w.seed, "incidents")
    ng = w.grids.height
    total_days = p.backlog_days + p.days - 1
    n = max(40, int(round(p.events_per_grid_day * ng * min(max(w.scale, 0.05), 20) * total_days)))
    t_first = dt.datetime.combine(p.base_date - dt.timedelta(days=p.backlog_days), dt.time(2))
    extracts = [dt.datetime.combine(p.base_date + dt.timedelta(days=d), dt.time(2)) for d in range(p.days)]
    t_last = extracts[-1]
    span = (t_last - t_first).total_seconds()
    day_off = rng.integers(0, int(span // 86400) + 1, n)
    hour = np.clip(rng.normal(13.5, 4.0, n), 6.5, 23.5)
    sec = (day_off * 86400 + (hour - 2) * 3600 + rng.integers(0, 60, n)).astype(np.int64)
    sec = np.clip(sec, 0, int(span) - 1800)
    order = np.argsort(sec, kind="stable")
    sec = sec[order]
    # where: a grid weighted by its households, a true point inside it
    weights = w.extra["hh_per_grid"].astype(float)
    grid = rng.choice(ng, n, p=weights / weights.sum())
    lon = np.zeros(n)
    lat = np.zeros(n)
    for gi in np.unique(grid):
        sel = np.nonzero(grid == gi)[0]
        pts = geo.points_in(w.grid_geoms[gi], len(sel), rng)
        lon[sel], lat[sel] = pts[:, 0], pts[:, 1]
    channel = rng.choice(4, n, p=CHANNEL_P)
    cat = rng.choice(len(pools.INCIDENT_CATEGORIES), n, p=np.array(pools.INCIDENT_CATEGORY_P) / sum(pools.INCIDENT_CATEGORY_P))
    u = rng.random(n)
    has_coord = np.select([channel == 0, channel == 3, channel == 2], [u > 0.04, u > 0.04, u > 0.06], u > 0.5)
    gcj = (channel == 1) | (channel == 2)
    glon, glat = wgs_to_gcj(lon, lat)
    out_lon = np.where(gcj, glon, lon)
    out_lat = np.where(gcj, glat, lat)
    # legacy grid code: most events without coordinates carry one; some others too
    legacy_sys = np.where(channel == 3, 2, np.where(channel == 0, 1, rng.integers(0, 4, n)))
    with_legacy = np.where(has_coord, rng.random(n) < 0.3, rng.random(n) < 0.6)
    leg = w.legacy
    leg_sys = leg["legacy_system"].to_numpy()
    leg_code = leg["legacy_code"].to_numpy()
    leg_grid = leg["grid_idx"].to_numpy()
    systems = ("党建", "综治", "城管", "环卫")
    legacy_code = np.full(n, None, dtype=object)
    for si, sname in enumerate(systems):
        m = leg_sys == sname
        codes, grids_ = leg_code[m], leg_grid[m]
        o = np.argsort(grids_, kind="stable")
        codes, grids_ = codes[o], grids_[o]
        first = np.searchsorted(grids_, np.arange(ng))
        cnt = np.bincount(grids_, minlength=ng)
        sel = np.nonzero(with_legacy & (legacy_sys == si))[0]
        pick = first[grid[sel]] + rng.integers(0, 1 << 30, len(sel)) % cnt[grid[sel]]
        legacy_code[sel] = codes[pick]
    # address: a building of the grid (or a road when the grid has none)
    B, C = w.buildings, w.compounds
    bstart = np.searchsorted(B["grid"], np.arange(ng))
    bcnt = np.bincount(B["grid"], minlength=ng)
    has_b = bcnt[grid] > 0
    bpick = np.where(has_b, bstart[grid] + rng.integers(0, 1 << 30, n) % np.maximum(bcnt[grid], 1), 0)
    comp = B["compound"][bpick]
    dname = w.grids["district_name"].to_numpy()[grid]
    sname = w.grids["street_name"].to_numpy()[grid]
    roads = np.array(pools.ROADS)[C["road"][comp]]
    road_no = C["road_no"][comp]
    cname = C["name"].to_numpy()[comp]
    bno = B["building_no"][bpick]
    style = rng.integers(0, 3, n)
    addr = np.where(style == 0, dname + sname + roads + road_no.astype(str) + "号" + cname + bno.astype(str) + "栋",
                    np.where(style == 1, roads + road_no.astype(str) + "号" + cname + "附近",
                             cname + bno.astype(str) + "号楼旁"))
    clock = WorkClock(p.base_date - dt.timedelta(days=60), 150)
    events = []
    truth = []
    t0 = t_first
    for i in range(n):
        rep = t0 + dt.timedelta(seconds=int(sec[i]))
        major, minor, limit = pools.INCIDENT_CATEGORIES[cat[i]]
        depts = pools.DEPARTMENTS[major]
        dept = depts[int(rng.integers(0, len(depts)))]
        urgent = major == "突发事件"
        steps = []
        t = rep + dt.timedelta(minutes=float(rng.uniform(1, 30)))
        steps.append(("受理", t, CENTER))
        invalid = rng.random() < 0.04
        if invalid:
            steps.append(("结案", t + dt.timedelta(hours=float(rng.uniform(1, 8))), CENTER))
        else:
            t += dt.timedelta(minutes=float(rng.uniform(5, 120 if not urgent else 10)))
            steps.append(("立案", t, CENTER))
            t += dt.timedelta(minutes=float(rng.uniform(10, 240 if not urgent else 20)))
            steps.append(("派遣", t, dept))
            if rng.random() < 0.1:
                t += dt.timedelta(hours=float(rng.uniform(1, 12)))
                steps.append(("退回", t, dept))
                other = [d for d in depts if d != dept] or depts
                dept = other[int(rng.integers(0, len(other)))]
                t += dt.timedelta(hours=float(rng.uniform(0.5, 6)))
                steps.append(("派遣", t, dept))
            wall = limit * (1.0 if urgent else 1.45)
            f = float(rng.lognormal(np.log(0.45), 0.65))
            t += dt.timedelta(hours=wall * f * 0.8)
            steps.append(("处置", t, dept))
            if rng.random() < 0.9:
                t += dt.timedelta(hours=wall * f * 0.2 + float(rng.uniform(0.1, 2)))
                steps.append(("反馈", t, dept))
            if rng.random() < 0.7:
                t += dt.timedelta(hours=float(rng.uniform(1, 24)))
                steps.append(("核查", t, CENTER))
            t += dt.timedelta(hours=float(rng.uniform(0.5, 24)))
            steps.append(("结案", t, CENTER))
        sat = ["满意", "基本满意", "不满意", "未评价"][int(rng.choice(4, p=[0.6, 0.25, 0.08, 0.07]))]
        eid = f"E{rep:%Y%m%d}{i:06d}"
        coord = ({"经度": round(float(out_lon[i]), 6), "纬度": round(float(out_lat[i]), 6),
                  "坐标系": "GCJ02" if gcj[i] else "WGS84"} if has_coord[i] else None)
        legacy = ({"体系": systems[legacy_sys[i]], "编码": legacy_code[i]} if legacy_code[i] is not None else None)
        ev = {"事件编号": eid, "来源渠道": CHANNELS[channel[i]], "上报时间": rep.strftime(TS),
              "事件大类": major, "事件小类": minor, "描述": pools.DESCRIPTIONS[minor], "地址": str(addr[i]),
              "坐标": coord, "原网格编码": legacy, "处置时限小时": limit, "invalid": invalid, "sat": sat,
              "steps": steps}
        events.append(ev)
        # truth as of the last extraction
        seen = [s for s in steps if s[1] <= t_last]
        disp = next((s[1] for s in seen if s[0] == "派遣"), None)
        deadline = stop = None
        overdue = False
        if disp is not None:
            deadline = disp + dt.timedelta(hours=limit) if urgent else clock.deadline(disp, limit)
            stop = next((s[1] for s in seen if s[0] == "反馈" and s[1] > disp), None)
            if stop is None:
                stop = next((s[1] for s in seen if s[0] == "结案" and s[1] > disp), None)
            overdue = (stop > deadline) if stop is not None else (t_last > deadline)
        closed = next((s[1] for s in seen if s[0] == "结案"), None)
        truth.append({
            "incident_id": eid, "grid_code": w.grids["grid_code"][int(grid[i])],
            "lon_wgs84": float(lon[i]), "lat_wgs84": float(lat[i]), "channel": CHANNELS[channel[i]],
            "crs": ("GCJ02" if gcj[i] else "WGS84") if has_coord[i] else None,
            "has_coord": bool(has_coord[i]), "legacy_system": legacy["体系"] if legacy else None,
            "category_major": major, "category_minor": minor, "time_limit_hours": limit,
            "reported_at": rep, "dispatched_at": disp, "deadline_at": deadline, "clock_stopped_at": stop,
            "closed_at": closed, "is_overdue": overdue, "returned_count": sum(1 for s in seen if s[0] == "退回"),
            "status": _status(seen, invalid), "satisfaction": sat if closed else None,
        })
    return {"events": events, "truth": pl.DataFrame(truth), "extracts": extracts}


def _status(seen, invalid: bool) -> str:
    if not seen:
        return "待受理"
    if seen[-1][0] == "结案":
        return "已关闭" if invalid else "已办结"
    if len(seen) == 1:
        return "待受理"
    return "处置中"


def event_lines(inc: dict, day: int) -> tuple[list[str], list[tuple[str, str]]]:
    """JSON lines of the incident delivery of ``day`` (0 = the full one), and the defects
    (event id, kind) of the events in it."""
    ex = inc["extracts"]
    t_hi = ex[day]
    t_lo = ex[day - 1] if day > 0 else None
    lines = []
    defects = []
    for ev in inc["events"]:
        rep = dt.datetime.strptime(ev["上报时间"], TS)
        if rep > t_hi:
            continue
        times = [rep] + [s[1] for s in ev["steps"]]
        if t_lo is not None and not any(t_lo < t <= t_hi for t in times):
            continue
        seen = [s for s in ev["steps"] if s[1] <= t_hi]
        status = _status(seen, ev["invalid"])
        closed = bool(seen) and seen[-1][0] == "结案"
        doc = {k: ev[k] for k in ("事件编号", "来源渠道", "上报时间", "事件大类", "事件小类", "描述", "地址",
                                  "坐标", "原网格编码")}
        doc["流转记录"] = [{"环节": s[0], "时间": s[1].strftime(TS), "部门": s[2]} for s in seen]
        doc["处置时限小时"] = ev["处置时限小时"]
        doc["当前状态"] = status
        doc["满意度"] = ev["sat"] if closed else None
        lines.append(json.dumps(doc, ensure_ascii=False))
        eid = ev["事件编号"]
        if ev["坐标"] is None:
            defects.append((eid, "legacy_grid_only" if ev["原网格编码"] else "address_only"))
        elif ev["坐标"]["坐标系"] == "GCJ02":
            defects.append((eid, "gcj02_coordinates"))
        if ev["原网格编码"] is not None:
            defects.append((eid, "legacy_grid_code"))
        if any(s[0] == "退回" for s in seen):
            defects.append((eid, "returned"))
    return lines, defects
