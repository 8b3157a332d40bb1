-- One row per current household (户), open tier.
-- Incremental: a projection of int_households_built; a build appends the households written
-- there since its last build, after its pre_hook deleted their old rows and the households that
-- left (macros/mart_marks.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ onegrid.mart_delete_rewritten('household_key', ref('int_households_built')) }}",
    post_hook="{{ onegrid.mart_mark_save() }}"
) }}
select
    cast(household_key as varchar) as household_key,
    cast(head_person_key as varchar) as head_person_key,
    cast(members as integer) as members,
    cast(house_key as varchar) as house_key,
    cast(grid_code as varchar) as grid_code,
    cast(resident_members as integer) as resident_members,
    cast(placement_rule as varchar) as placement_rule
from {{ ref('int_households_built') }}
{%- if is_incremental() %}
where _built_at > {{ onegrid.mart_last_built() }}
{%- endif %}
