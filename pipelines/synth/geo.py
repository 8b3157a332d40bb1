"""Geometry for the synthetic city: tiling communities into grids, points inside polygons,
and the public WGS-84 → GCJ-02 forward transform (vectorised)."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, box

KM_PER_DEG = 111.32


def district_box(center: tuple[float, float], n_grids: int, grid_km2: float) -> Polygon:
    """A square-ish box around ``center`` big enough for ``n_grids`` grids."""
    side_km = math.sqrt(n_grids * grid_km2)
    lon, lat = center
    half_lat = side_km / KM_PER_DEG / 2
    half_lon = side_km / (KM_PER_DEG * math.cos(math.radians(lat))) / 2
    return box(lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat)


def _seeds_in(poly: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """n well-spread random points inside ``poly`` (best of several candidates, then Lloyd-ish)."""
    minx, miny, maxx, maxy = poly.bounds
    pts = []
    need = n
    while need > 0:
        cand = np.column_stack([rng.uniform(minx, maxx, need * 4 + 8), rng.uniform(miny, maxy, need * 4 + 8)])
        inside = shapely.contains_xy(poly, cand[:, 0], cand[:, 1])
        cand = cand[inside]
        pts.extend(cand[:need].tolist())
        need = n - len(pts)
    return np.asarray(pts)


def tile(poly: Polygon, n: int, rng: np.random.Generator, relax: int = 2) -> list[Polygon]:
    """Split ``poly`` into ``n`` irregular non-overlapping cells that cover it (Voronoi cells of
    random seeds, relaxed towards centroids, clipped to the polygon)."""
    if n == 1:
        return [poly]
    seeds = _seeds_in(poly, n, rng)
    cells: list[Polygon] = []
    for it in range(relax + 1):
        vor = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=poly)
        raw = list(vor.geoms)
        # voronoi_polygons does not keep seed order: match cells to seeds
        ordered: list = [None] * n
        for cell in raw:
            hit = np.nonzero(shapely.contains_xy(cell, seeds[:, 0], seeds[:, 1]))[0]
            if len(hit):
                ordered[hit[0]] = cell
        clipped = []
        for cell in ordered:
            c = cell.intersection(poly) if cell is not None else Polygon()
            clipped.append(c)
        cells = clipped
        if it < relax:
            cent = np.array([[c.centroid.x, c.centroid.y] if not c.is_empty else s
                             for c, s in zip(cells, seeds)])
            seeds = cent
    out = []
    for c in cells:
        if c.geom_type == "GeometryCollection":
            c = shapely.union_all([g for g in c.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
        out.append(c)
    return out


def points_in(poly, n: int, rng: np.random.Generator, inset: float = 0.0) -> np.ndarray:
    """n uniform random points strictly inside ``poly`` (optionally shrunk by ``inset`` degrees)."""
    if n == 0:
        return np.zeros((0, 2))
    target = poly.buffer(-inset) if inset else poly
    if target.is_empty or target.area < poly.area * 0.05:
        target = poly
    minx, miny, maxx, maxy = target.bounds
    frac = max(target.area / max((maxx - minx) * (maxy - miny), 1e-18), 0.05)
    out = np.zeros((0, 2))
    while len(out) < n:
        k = int((n - len(out)) / frac * 1.3) + 8
        cand = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        cand = cand[shapely.contains_xy(target, cand[:, 0], cand[:, 1])]
        out = np.vstack([out, cand])
    return out[:n]
