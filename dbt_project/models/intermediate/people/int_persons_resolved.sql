-- One row per real person (person_key) from the resolved household and party records
-- (restricted zone). Attributes come from the person's preferred record: a household record
-- before a party record, an accepted identity number with the anchor name first, then the
-- smallest _record_key. The dwelling (house_key) is where the person actually lives: the
-- 现住址 of a household record matched to a dwelling, else the party 居住地址 when the person has
-- no household record; null when outside the city or unknown. grid_code is that dwelling's grid.
with r0 as (
    select
        *,
        -- preference of the record for the person's attributes (smallest first)
        (case when source = 'household' then 0 else 1 end) * 3
        + (case when id_accepted and name_is_anchor then 0 when id_accepted then 1 else 2 end) as pref_class,
        -- preference for the dwelling: household records decide
        case when house_key is not null then (case when source = 'household' then 0 else 1 end) end as house_class
    from {{ ref('int_person_records_resolved') }}
),
r as (
    -- the preferences as integers instead of text: class * 10^7 + rank of the _record_key within
    -- the person (one window), so the aggregates below compare integers, not 34-character strings
    select
        *,
        pref_class * 10000000 + key_rank as pref,
        house_class * 10000000 + key_rank as house_pref
    from (
        select *, row_number() over (partition by person_key order by _record_key) as key_rank
        from r0
    ) x
),
agg as (
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
    from r
    group by person_key
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
    house_key is not null as is_resident,
    house_key is not null and residency_status in ('人户一致', '人在户不在') as is_registered_resident,
    house_key is not null and residency_status = '流入人口' as is_floating_resident,
    coalesce(residency_status in ('人户一致', '人在户不在', '户在人不在'), false) as is_registered_in_city,
    source_records,
    household_records,
    party_records,
    min_match_score
from homed
