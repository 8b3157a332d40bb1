-- Where a free-text place description lies, from the dwellings of the housing registry: one row
-- per lookup key with the grid most of its dwellings lie in, and whether that is unambiguous.
-- Keys (built by the macro address_lookup_key from standardised text):
--   B|<core>|<building>   a building of a compound given with its road and number (…路12号X小区3栋)
--   C|<core>              a compound given with its road and number (…路12号X小区附近)
--   N|<compound>|<building> a compound name without road and a building (X小区3号楼旁): compound
--                         names repeat across a city, so these are often ambiguous
-- Only unambiguous keys (all dwellings in one grid) should place anything; an ambiguous one
-- leaves the record unplaced rather than on a guessed grid.
with d as (
    select split_part(r.address_key, '|', 1) as core, r.compound, split_part(r.address_key, '|', 2) as building,
           r.grid_code
    from {{ ref('int_house_records_resolved') }} r
    where r._record_key = r.house_key and r.grid_code is not null and r.address_key is not null
),
k as (
    select 'B|' || core || '|' || building as lookup_key, grid_code from d
    union all
    select 'C|' || core, grid_code from d
    union all
    select 'N|' || compound || '|' || building, grid_code from d
),
counted as (
    select lookup_key, grid_code, count(*) as n from k group by lookup_key, grid_code
)
select
    lookup_key,
    arg_max(grid_code, n * 1e6 - rank_in_key) as grid_code,
    sum(n) as dwellings,
    max(n) * 1.0 / sum(n) as share,
    count(*) as grids,
    count(*) = 1 as is_unambiguous
from (
    select *, row_number() over (partition by lookup_key order by n desc, grid_code) as rank_in_key
    from counted
) x
group by lookup_key
