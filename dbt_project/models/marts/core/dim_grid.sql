-- One row per unified grid (网格) of the current base map.
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
    cast(area_km2 as double) as area_km2,
    {{ onegrid.mask_name('grid_worker') }} as grid_worker_masked,
    is_valid_polygon,
    geometry_wkt
from {{ ref('int_grids_validated') }}
