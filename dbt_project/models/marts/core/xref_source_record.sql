-- One row per current source record: the real-world entity it resolved to, its grid and how.
-- Incremental: a build writes again the person records written to int_person_records_resolved
-- since its last build, the incident and party-organisation rows whole, and the dwelling rows
-- (a third of all rows) whole when the dwellings were built again since (their inputs mark,
-- stored with the mart's mark); the pre_hook deletes those and the person records that left
-- (macros/mart_marks.sql).
{{ config(
    enabled=(var('people_source', 'er') != 'none'),
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ onegrid.mart_delete_rewritten('source, source_record_id', ref('int_person_records_resolved'), keep=(\"source = 'housing'\" if onegrid.mart_inputs_unchanged(onegrid.dwellings_inputs_mark()) else none)) }}",
    post_hook="{{ onegrid.mart_mark_save(onegrid.dwellings_inputs_mark()) }}"
) }}
{%- set dwellings_kept = onegrid.mart_inputs_unchanged(onegrid.dwellings_inputs_mark()) %}
with persons as (
    select source, source_record_id, 'person' as entity_type, person_key as entity_key,
           grid_code, match_rule, match_score
    from {{ ref('int_person_records_resolved') }}
    {%- if is_incremental() %}
    where _built_at > {{ onegrid.mart_last_built() }}
    {%- endif %}
),
houses as (
    select source, source_record_id, 'house' as entity_type, house_key as entity_key,
           grid_code, match_rule, match_score
    from {{ ref('int_house_records_resolved') }}
    {%- if dwellings_kept %}
    where 1 = 0
    {%- endif %}
),
incidents as (
    select 'incident' as source, incident_id as source_record_id, 'incident' as entity_type,
           incident_id as entity_key, grid_code, grid_match_rule as match_rule,
           grid_match_score as match_score
    from {{ ref('int_incidents_timed') }}
),
orgs as (
    select 'party_org' as source, org_code as source_record_id, 'party_org' as entity_type,
           org_code as entity_key, grid_code,
           case when covered_grids = 1 then 'covered_grid'
                when covered_grids > 1 then 'multiple_grids'
                else 'no_grid' end as match_rule,
           case when covered_grids = 1 then 1.0 else 0.0 end as match_score
    from {{ ref('int_party_orgs_tree') }}
),
unioned as (
    select * from persons
    union all select * from houses
    union all select * from incidents
    union all select * from orgs
)
select
    cast(source as varchar) as source,
    cast(source_record_id as varchar) as source_record_id,
    cast(entity_type as varchar) as entity_type,
    cast(entity_key as varchar) as entity_key,
    cast(grid_code as varchar) as grid_code,
    cast(match_rule as varchar) as match_rule,
    cast(match_score as double) as match_score
from unioned
