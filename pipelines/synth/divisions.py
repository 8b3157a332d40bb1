"""County codes valid at a birth year (GB/T 2260 history, from python-stdnum's table).

An identity number's address code is the county where the person was first registered,
so a person born in 1960 carries a code that existed then (兴义县 522321), not one created
later (兴义市 522301, 1987-). python-stdnum checks this too.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import numpy as np

_RANGE = re.compile(r"^\[(\d*)-(\d*)\](.*)$")


@lru_cache(maxsize=1)
def _table() -> dict[int, list[tuple[int, int, str]]]:
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    out: dict[int, list[tuple[int, int, str]]] = {}
    prov = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r"^(\d{2}) ", line)
        if m:
            prov = m.group(1)
            continue
        m = re.match(r'^\s+(\d{4}) county="(.*)"', line)
        if m and prov:
            code = int(prov + m.group(1))
            spans = []
            for part in m.group(2).split(","):
                r = _RANGE.match(part)
                if r:
                    spans.append((int(r.group(1) or 0), int(r.group(2) or 9999), r.group(3)))
                else:
                    spans.append((0, 9999, part))
            out[code] = spans
    return out


def _valid(code: int, year: int) -> bool:
    return any(a <= year <= b for a, b, _ in _table().get(code, []))


def _name(code: int) -> str:
    spans = _table().get(code, [])
    return spans[-1][2] if spans else ""


@lru_cache(maxsize=1)
def _index() -> tuple[dict[int, list[int]], dict[int, list[int]], list[int]]:
    table = _table()
    pref: dict[int, list[int]] = {}
    prov: dict[int, list[int]] = {}
    counties = sorted(c for c in table if c % 100 != 0)
    for c in counties:
        pref.setdefault(c // 100, []).append(c)
        prov.setdefault(c // 10000, []).append(c)
    return pref, prov, counties


@lru_cache(maxsize=None)
def code_at(code: int, year: int) -> int:
    """``code`` if it existed in ``year``, else a county of the same prefecture (preferring the
    same place name, e.g. 兴义市 → 兴义县), else of the same province, that did."""
    table = _table()
    if code not in table or _valid(code, year):
        return code
    name = _name(code)[:2]
    for cands in (_cands("pref", code // 100, year), _cands("prov", code // 10000, year)):
        if cands:
            same = [c for c in cands if _name(c)[:2] == name]
            return (same or cands)[0]
    # e.g. 重庆 before 1997: the numerically nearest county that existed
    cands = _cands("all", 0, year)
    return min(cands, key=lambda c: abs(c - code)) if cands else code


@lru_cache(maxsize=None)
def _cands(scope: str, key: int, year: int) -> tuple[int, ...]:
    pref, prov, counties = _index()
    group = pref.get(key, []) if scope == "pref" else prov.get(key, []) if scope == "prov" else counties
    return tuple(c for c in group if _valid(c, year))


def codes_at(codes: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Vectorised ``code_at`` over arrays (few distinct pairs)."""
    key = codes.astype(np.int64) * 10000 + years.astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    mapped = np.array([code_at(int(k // 10000), int(k % 10000)) for k in uniq], dtype=np.int64)
    return mapped[inv].reshape(codes.shape)
