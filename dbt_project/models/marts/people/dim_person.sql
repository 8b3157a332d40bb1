-- One row per real person (实有人口 / 党员), restricted tier (identifiers present).
-- Incremental: a projection of int_persons_resolved; a build appends the persons written there
-- since its last build, after its pre_hook deleted their old rows and the persons that left
-- (macros/mart_marks.sql).
{{ config(
    schema='marts_restricted',
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ onegrid.mart_delete_rewritten('person_key', ref('int_persons_resolved')) }}",
    post_hook="{{ onegrid.mart_mark_save() }}"
) }}
select
    cast(person_key as varchar) as person_key,
    cast(household_key as varchar) as household_key,
    cast(house_key as varchar) as house_key,
    cast(grid_code as varchar) as grid_code,
    cast(name as varchar) as name,
    cast(id_number as varchar) as id_number,
    cast(gender as varchar) as gender,
    cast(birth_date as date) as birth_date,
    cast(ethnicity as varchar) as ethnicity,
    cast(residency_status as varchar) as residency_status,
    cast(coalesce(is_party_member, false) as boolean) as is_party_member,
    cast(relation as varchar) as relation,
    cast(coalesce(is_resident, false) as boolean) as is_resident,
    cast(coalesce(is_registered_resident, false) as boolean) as is_registered_resident,
    cast(coalesce(is_floating_resident, false) as boolean) as is_floating_resident,
    cast(coalesce(in_household_registry, false) as boolean) as in_household_registry,
    cast(source_records as integer) as source_records,
    cast(min_match_score as double) as min_match_score
from {{ ref('int_persons_resolved') }}
{%- if is_incremental() %}
where _built_at > {{ onegrid.mart_last_built() }}
{%- endif %}
