-- One row per real dwelling (实有房屋), open tier, with the number of residents.
-- Incremental: a build replaces the dwellings written to int_houses_resolved since its last build
-- and the dwellings whose number of residents changed (a person moved in or out), and deletes
-- the dwellings that left (macros/mart_marks.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='house_key',
    on_schema_change='fail',
    post_hook=["{{ onegrid.mart_delete_gone('house_key', ref('int_houses_resolved')) }}",
               "{{ onegrid.mart_mark_save() }}"]
) }}
with residents as (
    select house_key, count(*) as residents
    from {{ ref('int_persons_resolved') }}
    where is_resident
    group by house_key
),
{%- if is_incremental() %}
changed as (
    select house_key from {{ ref('int_houses_resolved') }}
    where _built_at > {{ onegrid.mart_last_built() }}
    union
    -- dwellings whose number of residents differs from the stored one
    select coalesce(r.house_key, t.house_key) as house_key
    from residents r
    full join (select house_key, residents from {{ this }} where residents > 0) t
      on t.house_key = r.house_key
    where r.residents is distinct from t.residents
),
{%- endif %}
h as (
    select * from {{ ref('int_houses_resolved') }}
    {%- if is_incremental() %}
    where house_key in (select house_key from changed)
    {%- endif %}
)
select
    cast(h.house_key as varchar) as house_key,
    cast(h.address_std as varchar) as address_std,
    cast(h.compound as varchar) as compound,
    cast(h.building as varchar) as building,
    cast(h.unit as varchar) as unit,
    cast(h.room as varchar) as room,
    cast(h.use as varchar) as use,
    cast(h.status as varchar) as status,
    cast(h.floor_area_m2 as double) as floor_area_m2,
    cast(h.lon as double) as lon,
    cast(h.lat as double) as lat,
    cast(h.grid_code as varchar) as grid_code,
    cast(coalesce(r.residents, 0) as integer) as residents,
    cast(h.floor as integer) as floor,
    cast(h.property_company as varchar) as property_company,
    cast(h.owner_person_key as varchar) as owner_person_key,
    cast(h.community_name as varchar) as community_name,
    cast(h.grid_rule as varchar) as grid_match_rule,
    cast(h.source_records as integer) as source_records
from h
left join residents r on r.house_key = h.house_key
