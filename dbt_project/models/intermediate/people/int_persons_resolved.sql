-- One row per real person (person_key) from the resolved household and party records
-- (restricted zone). Attributes come from the person's preferred record: a household record
-- before a party record, an accepted identity number with the anchor name first, then the
-- smallest _record_key. The dwelling (house_key) is where the person actually lives: the
-- 现住址 of a household record matched to a dwelling, else the party 居住地址 when the person has
-- no household record; null when outside the city or unknown. grid_code is that dwelling's grid.
-- Incremental: a person's row depends only on the records resolved to it. A build rebuilds the
-- persons of records resolved since its last build (_built_at) and the persons whose number of
-- records changed (a record left, or moved to another person); persons left without records are
-- written as tombstones and deleted by the post_hook. The table always equals a full rebuild
-- (tests/test_dbt_incremental.py).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='person_key',
    on_schema_change='fail',
    post_hook="{{ onegrid.delete_if_incremental('source_records is null') }}"
) }}
with
{%- if is_incremental() %}
counted as (
    -- persons whose number of records changed (0: no record left)
    {{ onegrid.count_changed(ref('int_person_records_resolved'), 'person_key', 'source_records') }}
),
dirty as (
    select person_key from {{ ref('int_person_records_resolved') }}
    where _built_at > {{ onegrid.last_built() }}
    union
    select person_key from counted
),
resolved as (
    select * from {{ ref('int_person_records_resolved') }}
    where person_key in (select person_key from dirty)
),
{%- endif %}
{#- a full build reads the table itself (a CTE read twice may be materialised) #}
{%- set records = 'resolved' if is_incremental() else ref('int_person_records_resolved') %}
r0 as (
    select
        *,
        -- preference of the record for the person's attributes (smallest first)
        (case when source = 'household' then 0 else 1 end) * 3
        + (case when id_accepted and name_is_anchor then 0 when id_accepted then 1 else 2 end) as pref_class,
        -- preference for the dwelling: household records decide
        case when house_key is not null then (case when source = 'household' then 0 else 1 end) end as house_class
    from {{ records }}
),
multi as (
    -- persons with more than one record (a few percent): only they need the aggregate
    select person_key from {{ records }} group by person_key having count(*) > 1
),
r as (
    select r0.*, m.person_key is not null as is_multi
    from r0 left join multi m on m.person_key = r0.person_key
),
agg_multi as (
    -- preferences as text: class digit || _record_key (fixed length), smallest first
    select
        person_key,
        arg_min(household_key, pref) as household_key,
        arg_min(name_norm, pref) as name,
        max(id_number) filter (where id_hash = person_key) as id_number,
        arg_min(gender, pref) as gender,
        arg_min(birth_date, pref) as birth_date,
        arg_min(ethnicity, pref) as ethnicity,
        arg_min(residency_status, pref) as residency_status,
        arg_min(relation, pref) as relation,
        bool_or(source = 'household') as in_household_registry,
        bool_or(source = 'party') as is_party_member,
        arg_min(house_key, house_pref) as house_key_any,
        arg_min(grid_code, house_pref) as grid_code_any,
        min(house_class) as best_house_class,
        count(*) as source_records,
        count(*) filter (where source = 'household') as household_records,
        count(*) filter (where source = 'party') as party_records,
        min(match_score) as min_match_score
    from (
        select *, cast(pref_class as varchar) || _record_key as pref,
               cast(house_class as varchar) || _record_key as house_pref
        from r where is_multi
    ) x
    group by person_key
),
agg as (
    -- a person with one record: the aggregate above of that single row, written out
    select
        person_key,
        household_key,
        name_norm as name,
        case when id_hash = person_key then id_number end as id_number,
        gender,
        birth_date,
        ethnicity,
        residency_status,
        relation,
        source = 'household' as in_household_registry,
        source = 'party' as is_party_member,
        house_key as house_key_any,
        case when house_key is not null then grid_code end as grid_code_any,
        house_class as best_house_class,
        cast(1 as bigint) as source_records,
        cast(case when source = 'household' then 1 else 0 end as bigint) as household_records,
        cast(case when source = 'party' then 1 else 0 end as bigint) as party_records,
        match_score as min_match_score
    from r where not is_multi
    union all
    select * from agg_multi
),
homed as (
    select
        *,
        -- a household record's 现住址 decides; party 居住地址 only without a household record
        case when not in_household_registry or best_house_class = 0 then house_key_any end as house_key,
        case when not in_household_registry or best_house_class = 0 then grid_code_any end as grid_code
    from agg
)
select
    person_key,
    household_key,
    house_key,
    grid_code,
    name,
    id_number,
    gender,
    birth_date,
    ethnicity,
    residency_status,
    relation,
    is_party_member,
    in_household_registry,
    -- residents are people of the actual-population register (实有人口) whose 现住址 is a dwelling
    -- of the city; a party roster's 居住地址 places a member but does not make a resident
    in_household_registry and house_key is not null as is_resident,
    in_household_registry and house_key is not null and residency_status in ('人户一致', '人在户不在') as is_registered_resident,
    in_household_registry and house_key is not null and residency_status = '流入人口' as is_floating_resident,
    coalesce(residency_status in ('人户一致', '人在户不在', '户在人不在'), false) as is_registered_in_city,
    source_records,
    household_records,
    party_records,
    min_match_score,
    {{ onegrid.build_stamp() }} as _built_at
from homed
{%- if is_incremental() %}
union all
-- tombstones of the persons left without records (deleted by the post_hook)
select person_key, null, null, null, null, null, null, null, null, null, null, null, null, null,
       null, null, null, null, null, null, null, null
from counted where n = 0
{%- endif %}
