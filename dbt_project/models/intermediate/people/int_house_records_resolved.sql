{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ onegrid.inputs_mark_reset(onegrid.house_records_inputs_mark()) }}"
) }}
-- Every current housing record (实有房屋, source 'housing') resolved to its dwelling (house_key)
-- and placed on a unified grid.
-- Dwelling: records with the same standardised address key (core|building|unit|room, see
-- int_addresses_standardised) are one dwelling registered twice (two 房屋编码 with small
-- differences: address variants, floor area). house_key = the smallest _record_key of the
-- cluster (a keyed hash, stable while that record stays current). A record whose address
-- cannot be parsed falls back to its structured columns (社区, 小区, 楼栋, 单元, 房号), else is its
-- own dwelling.
-- Grid (grid_rule): point_in_grid (lon/lat of the record, else of another record of the same
-- dwelling, in a unified grid polygon); address (no usable point: the grid where most placed
-- dwellings of the same building, else of the same compound core, lie); unresolved.
-- Rebuilt only when a housing or grid delivery arrived since the last build (macros/
-- inputs_mark.sql): the housing records, their addresses' standardisation and the grids are
-- all it reads.
{%- set mark_sql = onegrid.house_records_inputs_mark() %}
{%- if onegrid.inputs_mark_unchanged(mark_sql) %}
select * from {{ this }} where 1 = 0
{%- else %}
with h as (
    select
        h.record_id,
        h._record_key,
        h.district_name,
        h.street_name,
        h.community_name,
        h.compound as compound_given,
        h.address,
        h.building as building_given,
        h.unit as unit_given,
        h.floor as floor_given,
        h.room as room_given,
        h.use,
        h.status,
        h.floor_area_m2,
        h.property_company,
        h.owner_id_hash,
        h.lon,
        h.lat,
        a.core,
        a.address_key,
        a.address_std,
        a.prefix_district,
        a.compound as compound_std,
        {{ onegrid.address_number('h.building') }} as b_num,
        {{ onegrid.address_number('h.unit') }} as u_num,
        {{ onegrid.address_number('h.room') }} as r_num
    from {{ ref('int_house_records_latest') }} h
    left join {{ ref('int_addresses_standardised') }} a on a.address_raw = h.address
),
districts as (
    select district_name, min(district_code) as district_code
    from {{ ref('int_grids_validated') }} group by district_name
),
points as (
    -- distinct positions (one per building): far fewer than records. From the table, not from
    -- h: a CTE read twice is materialised, and h is wide.
    select distinct lon, lat, cast(lon as varchar) || ',' || cast(lat as varchar) as point_id
    from {{ ref('int_house_records_latest') }} where lon is not null and lat is not null
),
by_point as (
    {{ onegrid.place_points_on_grids('points', 'point_id', 'lon', 'lat') }}
),
located as (
    -- the county-level division of the record: from its point, else the one its address
    -- prefix names, else the housing bureau's 区县 column. Compound names with the same road and
    -- number exist in different counties; the county keeps them apart.
    select
        h.*,
        p.grid_code as point_grid,
        coalesce(left(p.grid_code, 6), d1.district_code, d2.district_code, '') as district_code
    from h
    left join by_point p on p.point_key = cast(h.lon as varchar) || ',' || cast(h.lat as varchar)
    left join districts d1 on d1.district_name = h.prefix_district
    left join districts d2 on d2.district_name = h.district_name
),
keyed as {{ onegrid.not_materialized() }} (
    -- read three times: evaluated where read, not stored (10M residents: 27.3 → 24.6 s)
    select
        *,
        coalesce(
            district_code || '|' || address_key,
            case when compound_given is not null and b_num is not null and r_num is not null
                 then 'S|' || coalesce(community_name, '') || '|' || compound_given || '|' || b_num
                      || '|' || coalesce(u_num, '1') || '|' || r_num end,
            'R|' || _record_key) as dwelling_key,
        district_code || '|' || coalesce(core, 'S|' || coalesce(community_name, '') || '|' || compound_given) as core_key,
        district_code || '|' || coalesce(core, 'S|' || coalesce(community_name, '') || '|' || compound_given)
            || '|' || coalesce(b_num, split_part(address_key, '|', 2), '') as building_key
    from located
),
dwellings as (
    -- an aggregate and a join: cheaper than a window that carries every column through a sort
    select dwelling_key, min(_record_key) as house_key, count(*) as records_in_dwelling
    from keyed group by dwelling_key
),
grid_votes as (
    -- the records with a point, narrow: the three grid votes below read it, not the wide rows
    select d.house_key, k.building_key, k.core_key, k.point_grid
    from keyed k
    join dwellings d on d.dwelling_key = k.dwelling_key
    where k.point_grid is not null
),
house_point as (
    -- the dwelling's grid from any of its records' points (most frequent, then smallest)
    select house_key, grid_code from (
        select house_key, point_grid as grid_code,
               row_number() over (partition by house_key order by count(*) desc, point_grid) as rk
        from grid_votes group by house_key, point_grid
    ) x where rk = 1
),
building_grid as (
    select building_key, grid_code from (
        select building_key, point_grid as grid_code,
               row_number() over (partition by building_key order by count(*) desc, point_grid) as rk
        from grid_votes group by building_key, point_grid
    ) x where rk = 1
),
core_grid as (
    select core_key, grid_code from (
        select core_key, point_grid as grid_code,
               row_number() over (partition by core_key order by count(*) desc, point_grid) as rk
        from grid_votes where core_key is not null group by core_key, point_grid
    ) x where rk = 1
),
placed as (
    select k.*, d.house_key, d.records_in_dwelling
    from keyed k
    join dwellings d on d.dwelling_key = k.dwelling_key
)
select
    'housing' as source,
    p.record_id as source_record_id,
    p._record_key,
    p.house_key,
    p.dwelling_key,
    p.address_key,
    case when p.address_key is not null then 'address_std'
         when p.dwelling_key like 'S|%' then 'address_columns'
         else 'record' end as match_rule,
    cast(case when p.address_key is not null then 1.0
              when p.dwelling_key like 'S|%' then 0.9
              else 1.0 end as double) as match_score,
    p.records_in_dwelling,
    -- one grid per dwelling: the most frequent grid of its records' points
    coalesce(hp.grid_code, bg.grid_code, cg.grid_code) as grid_code,
    case when hp.grid_code is not null then 'point_in_grid'
         when bg.grid_code is not null or cg.grid_code is not null then 'address'
         else 'unresolved' end as grid_rule,
    -- attributes, for int_houses_resolved
    p.district_name, p.street_name, p.community_name,
    coalesce(p.compound_std, p.compound_given) as compound,
    coalesce(p.address_std, p.address) as address_std,
    coalesce(split_part(p.address_key, '|', 2), p.b_num) as building,
    coalesce(split_part(p.address_key, '|', 3), p.u_num, '1') as unit,
    coalesce(split_part(p.address_key, '|', 4), p.r_num) as room,
    try_cast({{ onegrid.address_number('p.floor_given') }} as integer) as floor,
    p.use, p.status, p.floor_area_m2, nullif(p.property_company, '') as property_company,
    p.owner_id_hash, p.lon, p.lat,
    p.district_code,
    ({{ mark_sql }}) as _inputs_mark
from placed p
left join house_point hp on hp.house_key = p.house_key
left join building_grid bg on bg.building_key = p.building_key
left join core_grid cg on cg.core_key = p.core_key
{%- endif %}
