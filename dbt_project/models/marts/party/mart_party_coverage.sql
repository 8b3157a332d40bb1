{{ config(enabled=(var('people_source', 'er') != 'none')) }}
-- Party building coverage (党建覆盖) per community and per street: grids covered by a grid party
-- branch or group, grids left uncovered, branches, groups, members and 双报到 registrations.
with g as (select * from {{ ref('int_grids_validated') }}),
covered as (
    select distinct og.grid_code
    from {{ ref('int_party_org_grids') }} og
    join {{ ref('int_party_orgs_tree') }} t on t.org_code = og.org_code
    where t.org_level in ('grid_branch', 'group')
),
grid_flags as (
    select g.grid_code, g.community_code, g.community_name, g.street_code, g.street_name, g.district_code,
           c.grid_code is not null as is_covered
    from g left join covered c on c.grid_code = g.grid_code
),
orgs as (select * from {{ ref('int_party_orgs_tree') }}),
members as (select * from {{ ref('int_party_member_persons') }}),
dual as (
    -- 双报到: members registered with a community, matched by community name
    select g.community_code, count(*) as dual_registrations
    from members m
    join (select distinct community_code, community_name from g) g
      on g.community_name = m.dual_registration_community
    group by g.community_code
),
community as (
    select
        'community' as level,
        f.community_code as area_code,
        min(f.community_name) as area_name,
        min(f.street_code) as street_code,
        min(f.district_code) as district_code,
        count(*) as grids,
        sum(case when f.is_covered then 1 else 0 end) as grids_covered,
        (select count(*) from orgs o where o.community_code = f.community_code and o.org_level = 'grid_branch') as grid_party_branches,
        (select count(*) from orgs o where o.community_code = f.community_code and o.org_level = 'group') as party_groups,
        (select count(*) from members m where m.community_code = f.community_code) as party_members,
        coalesce(max(d.dual_registrations), 0) as dual_registrations
    from grid_flags f
    left join dual d on d.community_code = f.community_code
    group by f.community_code
),
street as (
    select
        'street' as level,
        f.street_code as area_code,
        min(f.street_name) as area_name,
        f.street_code as street_code,
        min(f.district_code) as district_code,
        count(*) as grids,
        sum(case when f.is_covered then 1 else 0 end) as grids_covered,
        (select count(*) from orgs o where o.street_code = f.street_code and o.org_level = 'grid_branch') as grid_party_branches,
        (select count(*) from orgs o where o.street_code = f.street_code and o.org_level = 'group') as party_groups,
        (select count(*) from members m where m.street_code = f.street_code) as party_members,
        (select coalesce(sum(dual_registrations), 0) from dual d join (select distinct community_code, street_code from g) gc
            on gc.community_code = d.community_code where gc.street_code = f.street_code) as dual_registrations
    from grid_flags f
    group by f.street_code
)
select
    cast(level as varchar) as level,
    cast(area_code as varchar) as area_code,
    cast(area_name as varchar) as area_name,
    cast(street_code as varchar) as street_code,
    cast(district_code as varchar) as district_code,
    cast(grids as bigint) as grids,
    cast(grids_covered as bigint) as grids_covered,
    cast(grids - grids_covered as bigint) as grids_uncovered,
    cast({{ onegrid.safe_ratio('grids_covered', 'grids') }} as double) as coverage_rate,
    cast(grid_party_branches as bigint) as grid_party_branches,
    cast(party_groups as bigint) as party_groups,
    cast(party_members as bigint) as party_members,
    cast(dual_registrations as bigint) as dual_registrations
from (select * from community union all select * from street) x
