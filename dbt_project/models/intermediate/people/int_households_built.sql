-- One row per current household (户号, household_key) with at least one current member.
-- head_person_key: the member recorded as 户主. Placement (marts.md count definitions): where
-- the head lives when the head is a resident, else where most resident members live (ties:
-- the smaller grid code / house key); null when no member lives in the city.
-- Incremental: a household's row depends only on its members. A build rebuilds the households
-- of persons written since its last build (_built_at) and the households whose number of
-- members changed (a member left or moved to another household); households left without
-- members are written as tombstones and deleted by the post_hook. The table always equals a
-- full rebuild (tests/test_dbt_incremental.py).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='household_key',
    on_schema_change='fail',
    post_hook="{{ onegrid.delete_if_incremental('members is null') }}"
) }}
with
{%- if is_incremental() %}
counted as (
    -- households whose number of members changed (0: no member left)
    {{ onegrid.count_changed(ref('int_persons_resolved'), 'household_key', 'members') }}
),
dirty as (
    select household_key from {{ ref('int_persons_resolved') }}
    where _built_at > {{ onegrid.last_built() }} and household_key is not null
    union
    select household_key from counted
),
{%- endif %}
members as (
    select person_key, household_key, relation, house_key, grid_code, is_resident
    from {{ ref('int_persons_resolved') }}
    where household_key is not null
    {%- if is_incremental() %}
      and household_key in (select household_key from dirty)
    {%- endif %}
),
head as (
    select household_key, min(person_key) filter (where relation = '户主') as head_person_key
    from members group by household_key
),
head_home as (
    select h.household_key, m.house_key, m.grid_code
    from head h join members m on m.person_key = h.head_person_key
    where m.is_resident
),
grid_major as (
    select household_key, grid_code from (
        select household_key, grid_code,
               row_number() over (partition by household_key order by count(*) desc, grid_code) as rk
        from members where is_resident and grid_code is not null
        group by household_key, grid_code
    ) x where rk = 1
),
house_major as (
    select household_key, house_key from (
        select household_key, house_key,
               row_number() over (partition by household_key order by count(*) desc, house_key) as rk
        from members where is_resident and house_key is not null
        group by household_key, house_key
    ) x where rk = 1
),
sizes as (
    select household_key, count(*) as members,
           count(*) filter (where is_resident) as resident_members
    from members group by household_key
)
select
    s.household_key,
    h.head_person_key,
    s.members,
    s.resident_members,
    coalesce(hh.house_key, hm.house_key) as house_key,
    case when hh.household_key is not null then hh.grid_code else gm.grid_code end as grid_code,
    case when hh.household_key is not null then 'head'
         when gm.grid_code is not null then 'most_residents'
         else 'unplaced' end as placement_rule,
    {{ onegrid.build_stamp() }} as _built_at
from sizes s
left join head h on h.household_key = s.household_key
left join head_home hh on hh.household_key = s.household_key
left join grid_major gm on gm.household_key = s.household_key
left join house_major hm on hm.household_key = s.household_key
{%- if is_incremental() %}
union all
-- tombstones of the households left without members (deleted by the post_hook)
select household_key, null, null, null, null, null, null, null
from counted where n = 0
{%- endif %}
