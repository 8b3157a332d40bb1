{{ config(enabled=(var('people_source', 'er') != 'none')) }}
-- One row per county-level district and one for the whole city (marts.md count definitions).
with g as (select * from {{ ref('int_grids_validated') }}),
prof as (
    select p.*, g.district_code
    from {{ ref('mart_grid_profile') }} p join g on g.grid_code = p.grid_code
),
orgs as (select * from {{ ref('int_party_orgs_tree') }}),
members as (select * from {{ ref('int_party_member_persons') }}),
district_rows as (
    select
        'district' as level,
        d.district_code,
        d.streets, d.communities, d.grids,
        coalesce(o.community_party_orgs, 0) as community_party_orgs,
        coalesce(o.grid_party_branches, 0) as grid_party_branches,
        coalesce(o.party_groups, 0) as party_groups,
        coalesce(p.residents, 0) as residents,
        coalesce(p.registered_residents, 0) as registered_residents,
        coalesce(p.floating_residents, 0) as floating_residents,
        coalesce(p.households, 0) as households,
        coalesce(p.houses, 0) as houses,
        coalesce(m.party_members, 0) as party_members
    from (
        select district_code, count(distinct street_code) as streets,
               count(distinct community_code) as communities, count(*) as grids
        from g group by district_code
    ) d
    left join (
        select district_code,
            sum(case when org_level = 'community' then 1 else 0 end) as community_party_orgs,
            sum(case when org_level = 'grid_branch' then 1 else 0 end) as grid_party_branches,
            sum(case when org_level = 'group' then 1 else 0 end) as party_groups
        from orgs group by district_code
    ) o on o.district_code = d.district_code
    left join (
        select district_code, sum(residents) as residents, sum(registered_residents) as registered_residents,
               sum(floating_residents) as floating_residents, sum(households) as households, sum(houses) as houses
        from prof group by district_code
    ) p on p.district_code = d.district_code
    left join (
        select district_code, count(*) as party_members from members group by district_code
    ) m on m.district_code = d.district_code
),
city_row as (
    select
        'city' as level,
        cast(null as varchar) as district_code,
        (select count(distinct street_code) from g) as streets,
        (select count(distinct community_code) from g) as communities,
        (select count(*) from g) as grids,
        (select count(*) from orgs where org_level = 'community') as community_party_orgs,
        (select count(*) from orgs where org_level = 'grid_branch') as grid_party_branches,
        (select count(*) from orgs where org_level = 'group') as party_groups,
        (select sum(residents) from prof) as residents,
        (select sum(registered_residents) from prof) as registered_residents,
        (select sum(floating_residents) from prof) as floating_residents,
        (select sum(households) from prof) as households,
        (select sum(houses) from prof) as houses,
        (select count(*) from members) as party_members
)
select
    cast(level as varchar) as level,
    cast(district_code as varchar) as district_code,
    cast(streets as bigint) as streets,
    cast(communities as bigint) as communities,
    cast(grids as bigint) as grids,
    cast(community_party_orgs as bigint) as community_party_orgs,
    cast(grid_party_branches as bigint) as grid_party_branches,
    cast(party_groups as bigint) as party_groups,
    cast(coalesce(residents, 0) as bigint) as residents,
    cast(coalesce(registered_residents, 0) as bigint) as registered_residents,
    cast(coalesce(floating_residents, 0) as bigint) as floating_residents,
    cast(coalesce(households, 0) as bigint) as households,
    cast(coalesce(houses, 0) as bigint) as houses,
    cast(coalesce(party_members, 0) as bigint) as party_members
from (select * from district_rows union all select * from city_row) x
