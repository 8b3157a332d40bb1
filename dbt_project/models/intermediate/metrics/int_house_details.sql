{{ config(
    enabled=(var('people_source', 'er') != 'none'),
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='house_key',
    on_schema_change='fail',
    post_hook="{{ onegrid.mart_delete_gone('house_key', ref('dim_house')) }}"
) }}
-- depends_on: {{ ref('int_houses_resolved') }}
-- Per real dwelling (house_key): attributes the published dim_house does not carry, taken from
-- its current housing records (floor, property company), and the community of its grid.
-- Incremental: a dwelling's row depends on its int_houses_resolved row, its number of residents
-- and its housing records and grid, which change only with a housing or grid delivery (then
-- every dwelling is written to int_houses_resolved again). A build redoes the dwellings written
-- there since its last build (_built_at) and those whose residents differ from dim_house, and
-- deletes the dwellings that left (tests/test_dbt_incremental.py).
{%- if is_incremental() %}
with changed as (
    select house_key from {{ ref('int_houses_resolved') }}
    where _built_at > {{ onegrid.last_built() }}
    union
    select d.house_key
    from {{ ref('dim_house') }} d
    join {{ this }} t on t.house_key = d.house_key
    where t.residents is distinct from d.residents
)
{%- endif %}
select
    d.house_key,
    d.grid_code,
    g.community_code,
    g.community_name,
    g.street_code,
    d.compound,
    d.building,
    d.unit,
    d.room,
    max(h.floor) as floor,
    max(nullif(h.property_company, '')) as property_company,
    d.residents,
    {{ onegrid.build_stamp() }} as _built_at
from {{ ref('dim_house') }} d
left join {{ ref('int_house_records_resolved') }} r on r.house_key = d.house_key and r.source = 'housing'
left join {{ ref('int_house_records_latest') }} h on h.record_id = r.source_record_id
left join {{ ref('int_grids_validated') }} g on g.grid_code = d.grid_code
{%- if is_incremental() %}
where d.house_key in (select house_key from changed)
{%- endif %}
group by d.house_key, d.grid_code, g.community_code, g.community_name, g.street_code,
         d.compound, d.building, d.unit, d.room, d.residents
