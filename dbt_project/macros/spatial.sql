{#-
  Spatial helpers, adapter-dispatched: `adapter.dispatch(name, 'onegrid')`.
  duckdb__ uses DuckDB spatial (loaded offline from the wheel by plugins/onegrid_duckdb.py).
  default__ documents what another engine needs; on Spark use Apache Sedona
  (ST_GeomFromWKT, ST_Point, ST_Contains, ST_Intersects, ST_IsValid, ST_Area on a
  geography/spheroid via ST_AreaSpheroid, ST_Union_Aggr) registered in the Spark session.
  Geometries are WGS-84 longitude/latitude throughout.
-#}

{# geometry from WKT text #}
{% macro geom_from_wkt(wkt) -%}{{ return(adapter.dispatch('geom_from_wkt', 'onegrid')(wkt)) }}{%- endmacro %}
{% macro duckdb__geom_from_wkt(wkt) -%}ST_GeomFromText({{ wkt }}){%- endmacro %}
{% macro default__geom_from_wkt(wkt) -%}ST_GeomFromWKT({{ wkt }}){%- endmacro %}

{# WKT text of a geometry #}
{% macro geom_as_wkt(geom) -%}{{ return(adapter.dispatch('geom_as_wkt', 'onegrid')(geom)) }}{%- endmacro %}
{% macro duckdb__geom_as_wkt(geom) -%}ST_AsText({{ geom }}){%- endmacro %}
{% macro default__geom_as_wkt(geom) -%}ST_AsText({{ geom }}){%- endmacro %}

{# point from longitude / latitude #}
{% macro point(lon, lat) -%}{{ return(adapter.dispatch('point', 'onegrid')(lon, lat)) }}{%- endmacro %}
{% macro duckdb__point(lon, lat) -%}ST_Point({{ lon }}, {{ lat }}){%- endmacro %}
{% macro default__point(lon, lat) -%}ST_Point({{ lon }}, {{ lat }}){%- endmacro %}

{# true when the point (lon, lat) lies in the polygon (boundary included) #}
{% macro point_in_polygon(lon, lat, geom) -%}{{ return(adapter.dispatch('point_in_polygon', 'onegrid')(lon, lat, geom)) }}{%- endmacro %}
{% macro duckdb__point_in_polygon(lon, lat, geom) -%}ST_Intersects({{ geom }}, ST_Point({{ lon }}, {{ lat }})){%- endmacro %}
{% macro default__point_in_polygon(lon, lat, geom) -%}ST_Intersects({{ geom }}, ST_Point({{ lon }}, {{ lat }})){%- endmacro %}

{# polygon area in km² on the WGS-84 spheroid #}
{% macro area_km2(geom) -%}{{ return(adapter.dispatch('area_km2', 'onegrid')(geom)) }}{%- endmacro %}
{# DuckDB's spheroid functions take (lat, lon) axis order: flip first. #}
{% macro duckdb__area_km2(geom) -%}(ST_Area_Spheroid(ST_FlipCoordinates({{ geom }})) / 1e6){%- endmacro %}
{% macro default__area_km2(geom) -%}(ST_AreaSpheroid({{ geom }}) / 1e6){%- endmacro %}

{% macro is_valid_geom(geom) -%}{{ return(adapter.dispatch('is_valid_geom', 'onegrid')(geom)) }}{%- endmacro %}
{% macro duckdb__is_valid_geom(geom) -%}ST_IsValid({{ geom }}){%- endmacro %}
{% macro default__is_valid_geom(geom) -%}ST_IsValid({{ geom }}){%- endmacro %}

{% macro geoms_intersect(a, b) -%}{{ return(adapter.dispatch('geoms_intersect', 'onegrid')(a, b)) }}{%- endmacro %}
{% macro duckdb__geoms_intersect(a, b) -%}ST_Intersects({{ a }}, {{ b }}){%- endmacro %}
{% macro default__geoms_intersect(a, b) -%}ST_Intersects({{ a }}, {{ b }}){%- endmacro %}

{# area (km²) of the intersection of two geometries #}
{% macro intersection_area_km2(a, b) -%}{{ return(adapter.dispatch('intersection_area_km2', 'onegrid')(a, b)) }}{%- endmacro %}
{% macro duckdb__intersection_area_km2(a, b) -%}{{ onegrid.duckdb__area_km2('ST_Intersection(' ~ a ~ ', ' ~ b ~ ')') }}{%- endmacro %}
{% macro default__intersection_area_km2(a, b) -%}{{ onegrid.default__area_km2('ST_Intersection(' ~ a ~ ', ' ~ b ~ ')') }}{%- endmacro %}

{# union of a column of geometries (aggregate) #}
{% macro geom_union_agg(geom) -%}{{ return(adapter.dispatch('geom_union_agg', 'onegrid')(geom)) }}{%- endmacro %}
{% macro duckdb__geom_union_agg(geom) -%}ST_Union_Agg({{ geom }}){%- endmacro %}
{% macro default__geom_union_agg(geom) -%}ST_Union_Aggr({{ geom }}){%- endmacro %}

{# holes (interior rings) of a geometry as a geometry, and the envelope-difference helpers #}
{% macro geom_difference(a, b) -%}{{ return(adapter.dispatch('geom_difference', 'onegrid')(a, b)) }}{%- endmacro %}
{% macro duckdb__geom_difference(a, b) -%}ST_Difference({{ a }}, {{ b }}){%- endmacro %}
{% macro default__geom_difference(a, b) -%}ST_Difference({{ a }}, {{ b }}){%- endmacro %}

{% macro geom_is_empty(geom) -%}{{ return(adapter.dispatch('geom_is_empty', 'onegrid')(geom)) }}{%- endmacro %}
{% macro duckdb__geom_is_empty(geom) -%}ST_IsEmpty({{ geom }}){%- endmacro %}
{% macro default__geom_is_empty(geom) -%}ST_IsEmpty({{ geom }}){%- endmacro %}

{#- Place points on grids: joins a relation of points (key, lon, lat) to int_grids_validated
    and returns one row per key (point_key, grid_code) with the grid that contains it (the
    smallest grid code when grids overlap). Used by ER for dwellings and by incident placement:
      with placed as ({{ onegrid.place_points_on_grids(ref('x'), 'house_record_id', 'lon', 'lat') }})
    DuckDB: a bare ST_Intersects join condition on the stored GEOMETRY becomes a SPATIAL_JOIN
    (R-tree); adding a bounding-box prefilter disables it (637k dwellings: 2 s vs 28 s).
-#}
{% macro place_points_on_grids(points_relation, key_col, lon_col, lat_col, grids_relation=none) -%}
  {{ return(adapter.dispatch('place_points_on_grids', 'onegrid')(points_relation, key_col, lon_col, lat_col, grids_relation)) }}
{%- endmacro %}
{% macro duckdb__place_points_on_grids(points_relation, key_col, lon_col, lat_col, grids_relation) -%}
{%- set grids = grids_relation if grids_relation is not none else ref('int_grids_validated') -%}
select p.{{ key_col }} as point_key, min(g.grid_code) as grid_code
from {{ points_relation }} p
join {{ grids }} g
  on ST_Intersects(g.geom, ST_Point(p.{{ lon_col }}, p.{{ lat_col }}))
where p.{{ lon_col }} is not null and p.{{ lat_col }} is not null
group by p.{{ key_col }}
{%- endmacro %}
{% macro default__place_points_on_grids(points_relation, key_col, lon_col, lat_col, grids_relation) -%}
{#- engines without a spatial join operator: bounding-box range join, then the exact test -#}
{%- set grids = grids_relation if grids_relation is not none else ref('int_grids_validated') -%}
select p.{{ key_col }} as point_key, min(g.grid_code) as grid_code
from {{ points_relation }} p
join {{ grids }} g
  on p.{{ lon_col }} between g.min_lon and g.max_lon
 and p.{{ lat_col }} between g.min_lat and g.max_lat
 and {{ onegrid.point_in_polygon('p.' ~ lon_col, 'p.' ~ lat_col, 'g.geom') }}
where p.{{ lon_col }} is not null and p.{{ lat_col }} is not null
group by p.{{ key_col }}
{%- endmacro %}

{# the geometry with its interior rings (holes) filled #}
{% macro fill_holes(geom) -%}{{ return(adapter.dispatch('fill_holes', 'onegrid')(geom)) }}{%- endmacro %}
{% macro duckdb__fill_holes(geom) -%}
(select ST_Union_Agg(ST_MakePolygon(ST_ExteriorRing(d.geom))) from (select unnest(ST_Dump({{ geom }}), recursive := true)) d)
{%- endmacro %}
{% macro default__fill_holes(geom) -%}
{# Sedona: ST_MakePolygon(ST_ExteriorRing(part)) over ST_Dump parts, unioned with ST_Union_Aggr #}
ST_Union_Aggr(ST_MakePolygon(ST_ExteriorRing({{ geom }})))
{%- endmacro %}
