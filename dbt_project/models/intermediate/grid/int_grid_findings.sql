-- Problems found in the grid base map, one row each, in the quality_issues shape: code
-- hierarchy (grid → community → street → county), polygon validity, overlaps between grids,
-- gaps inside a community, legacy codes mapped to unknown grids.
{% set overlap_m2 = var('grid_overlap_tolerance_m2', 100) %}
{% set gap_m2 = var('grid_gap_tolerance_m2', 100) %}
with g as (select * from {{ ref('int_grids_validated') }}),
hierarchy as (
    select grid_code, _delivery_id, 'grid_code_malformed' as rule, 'error' as severity,
           'grid code is not 15 digits' as detail
    from g where not is_code_well_formed
    union all
    select grid_code, _delivery_id, 'grid_not_in_community', 'error',
           'grid code prefix differs from community code ' || coalesce(community_code, 'null')
    from g where not coalesce(is_in_community, false)
    union all
    select grid_code, _delivery_id, 'community_not_in_street', 'error',
           'community code ' || coalesce(community_code, 'null') || ' prefix differs from street code ' || coalesce(street_code, 'null')
    from g where not coalesce(is_community_in_street, false)
    union all
    select grid_code, _delivery_id, 'street_not_in_district', 'error',
           'street code ' || coalesce(street_code, 'null') || ' prefix differs from district code ' || coalesce(district_code, 'null')
    from g where not coalesce(is_street_in_district, false)
    union all
    select grid_code, _delivery_id, 'invalid_polygon', 'error', 'grid polygon is missing or not valid'
    from g where not is_valid_polygon
),
grid_overlaps as (
    select a.grid_code, a._delivery_id, b.grid_code as other_grid,
           {{ onegrid.intersection_area_km2('a.geom', 'b.geom') }} * 1e6 as overlap_m2
    from g a
    join g b
      on a.grid_code < b.grid_code
     and {{ onegrid.geoms_intersect('a.geom', 'b.geom') }}
    where a.is_valid_polygon and b.is_valid_polygon
),
community_cover as (
    select community_code, max(_delivery_id) as _delivery_id,
           {{ onegrid.geom_union_agg('geom') }} as cover
    from g where is_valid_polygon
    group by community_code
),
gaps as (
    select community_code, _delivery_id,
           ({{ onegrid.area_km2(onegrid.fill_holes('cover')) }} - {{ onegrid.area_km2('cover') }}) * 1e6 as gap_m2
    from community_cover
),
legacy as (
    select legacy_system, legacy_code, mapped_grid_code, _delivery_id
    from {{ ref('int_legacy_grids_resolved') }}
    where not is_resolved
)
select 'grid' as source, grid_code as source_record_id, _delivery_id as delivery_id, rule, severity, detail
from hierarchy
union all
select 'grid', grid_code, _delivery_id, 'grid_overlap', 'warning',
       'overlaps grid ' || other_grid || ' by ' || cast(round(overlap_m2) as bigint) || ' m2'
from grid_overlaps where overlap_m2 > {{ overlap_m2 }}
union all
select 'grid', community_code, _delivery_id, 'community_gap', 'warning',
       'area inside community ' || community_code || ' not covered by any grid: ' || cast(round(gap_m2) as bigint) || ' m2'
from gaps where gap_m2 > {{ gap_m2 }}
union all
select 'grid', legacy_code, _delivery_id, 'legacy_grid_unknown', 'error',
       legacy_system || ' legacy code maps to unknown grid ' || coalesce(mapped_grid_code, 'null')
from legacy
