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
leaders as (
    select grid_code, compound, building, unit, unit_seq, household_key as leader_household_key
    from (
        select *, row_number() over (partition by grid_code, compound, building, unit, unit_seq
                                     order by party_members desc, pos) as rk
        from assigned where party_members > 0
    ) x where rk = 1
)
select
    cast({{ dbt.concat(["a.grid_code", "'-'", "coalesce(a.compound, '')", "'-'", "coalesce(a.building, '')", "'-'", "coalesce(a.unit, '')", "'-'", dbt.safe_cast("a.unit_seq + 1", dbt.type_string())]) }} as varchar) as joint_unit_id,
    cast(a.grid_code as varchar) as grid_code,
    cast(min(a.community_code) as varchar) as community_code,
    cast(a.compound as varchar) as compound,
    cast(a.building as varchar) as building,
    cast(a.unit as varchar) as unit,
    cast(a.unit_seq + 1 as bigint) as unit_seq,
    cast(count(*) as bigint) as households,
    cast(coalesce(sum(a.members), 0) as bigint) as residents,
    cast(sum(case when a.party_members > 0 then 1 else 0 end) as bigint) as party_member_households,
    cast(min(l.leader_household_key) as varchar) as leader_household_key,
    cast(min(l.leader_household_key) is not null as boolean) as has_party_member_leader
from assigned a
left join leaders l
  on l.grid_code = a.grid_code and l.compound is not distinct from a.compound
 and l.building is not distinct from a.building and l.unit is not distinct from a.unit
 and l.unit_seq = a.unit_seq
group by a.grid_code, a.compound, a.building, a.unit, a.unit_seq
