-- The unified grid base map (网格底图) of the latest grid delivery, with geometry, area and
-- validity flags. One row per grid_code (the first feature stands if a code repeats).
with current_grids as (
    {{ onegrid.current_state(ref('stg_grid__grids'), record_id='grid_code') }}
),
geo as (
    select
        *,
        {{ onegrid.geom_from_wkt('geometry_wkt') }} as geom
    from current_grids
)
select
    grid_code,
    grid_name,
    grid_type,
    community_code,
    community_name,
    street_code,
    street_name,
    district_code,
    district_name,
    grid_worker,
    grid_worker_phone,
    geometry_wkt,
    geom,
    ST_XMin(geom) as min_lon,
    ST_XMax(geom) as max_lon,
    ST_YMin(geom) as min_lat,
    ST_YMax(geom) as max_lat,
    {{ onegrid.area_km2('geom') }} as area_km2,
    coalesce({{ onegrid.is_valid_geom('geom') }}, false) as is_valid_polygon,
    {{ onegrid.is_digits('grid_code', 15) }} as is_code_well_formed,
    substr(grid_code, 1, 12) = community_code as is_in_community,
    substr(community_code, 1, 9) = street_code as is_community_in_street,
    substr(street_code, 1, 6) = district_code as is_street_in_district,
    _delivery_id
from geo
