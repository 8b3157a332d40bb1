{{ config(enabled=(var('people_source', 'er') != 'none')) }}
-- 十联户 units: neighbouring households of one building unit (楼栋/单元) grouped in units of
-- about ten (var joint_household_unit_size), in floor/room order, each with a party-member
-- household as 联户长 (head household) where one exists.
{% set size = var('joint_household_unit_size', 10) %}
with hh as (
    select
        h.household_key,
        d.grid_code, d.community_code, d.compound, d.building, d.unit, d.floor, d.room,
        h.members
    from {{ ref('dim_household') }} h
    join {{ ref('int_house_details') }} d on d.house_key = h.house_key
    where h.grid_code is not null
),
party_hh as (
    select household_key, count(*) as party_members
    from {{ ref('dim_person') }}
    where is_party_member and household_key is not null
    group by household_key
),
ordered as (
    select
        hh.*,
        coalesce(p.party_members, 0) as party_members,
        row_number() over (partition by hh.grid_code, hh.compound, hh.building, hh.unit
                           order by hh.floor, hh.room, hh.household_key) - 1 as pos,
        count(*) over (partition by hh.grid_code, hh.compound, hh.building, hh.unit) as n_in_unit
    from hh left join party_hh p on p.household_key = hh.household_key
),
assigned as (
    select
        ordered.*,
        -- balanced chunks: ceil(n / size) units of near-equal size
        cast(floor(pos * cast(ceil(n_in_unit / {{ size }}.0) as bigint) / n_in_unit) as bigint) as unit_seq
    from ordered
),
ranked as (
    -- the 联户长 candidate of each unit: the household with most party members, then the first
    select
        assigned.*,
        row_number() over (partition by grid_code, compound, building, unit, unit_seq
                           order by party_members desc, pos) as leader_rank
    from assigned
)
select
    cast({{ dbt.concat(["grid_code", "'-'", "coalesce(compound, '')", "'-'", "coalesce(building, '')", "'-'", "coalesce(unit, '')", "'-'", dbt.safe_cast("unit_seq + 1", dbt.type_string())]) }} as varchar) as joint_unit_id,
    cast(grid_code as varchar) as grid_code,
    cast(min(community_code) as varchar) as community_code,
    cast(compound as varchar) as compound,
    cast(building as varchar) as building,
    cast(unit as varchar) as unit,
    cast(unit_seq + 1 as bigint) as unit_seq,
    cast(count(*) as bigint) as households,
    cast(coalesce(sum(members), 0) as bigint) as residents,
    cast(sum(case when party_members > 0 then 1 else 0 end) as bigint) as party_member_households,
    cast(max(case when leader_rank = 1 and party_members > 0 then household_key end) as varchar) as leader_household_key,
    cast(max(case when leader_rank = 1 and party_members > 0 then 1 else 0 end) = 1 as boolean) as has_party_member_leader
from ranked
group by grid_code, compound, building, unit, unit_seq
