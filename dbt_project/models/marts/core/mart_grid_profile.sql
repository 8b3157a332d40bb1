{{ config(enabled=(var('people_source', 'er') != 'none')) }}
-- One row per unified grid: residents, households, dwellings, party organisation and members,
-- and incident figures over the last 90 days (before the latest incident extraction).
{% set days = var('recent_days', 90) %}
with g as (select grid_code from {{ ref('int_grids_validated') }}),
people as (
    select grid_code,
        sum(case when is_resident then 1 else 0 end) as residents,
        sum(case when is_registered_resident then 1 else 0 end) as registered_residents,
        sum(case when is_floating_resident then 1 else 0 end) as floating_residents,
        sum(case when is_party_member then 1 else 0 end) as resident_party_members
    from {{ ref('dim_person') }}
    where grid_code is not null
    group by grid_code
),
hh as (
    select grid_code, count(*) as households
    from {{ ref('dim_household') }} where grid_code is not null group by grid_code
),
houses as (
    select grid_code, count(*) as houses,
           sum(case when coalesce(residents, 0) = 0 then 1 else 0 end) as vacant_houses
    from {{ ref('dim_house') }} where grid_code is not null group by grid_code
),
members as (
    select org_grid_code as grid_code, count(*) as party_members
    from {{ ref('int_party_member_persons') }} where org_grid_code is not null group by 1
),
orgs as (
    select og.grid_code,
        count(distinct case when t.org_level = 'grid_branch' then t.org_code end) as party_branches,
        count(distinct case when t.org_level = 'group' then t.org_code end) as party_groups
    from {{ ref('int_party_org_grids') }} og
    join {{ ref('int_party_orgs_tree') }} t on t.org_code = og.org_code
    group by og.grid_code
),
inc as (
    select grid_code,
        sum(case when status in ('待受理', '处置中') then 1 else 0 end) as incidents_open,
        sum(case when closed_at >= {{ dbt.dateadd('day', -days, 'as_of_local') }} and closed_at <= as_of_local then 1 else 0 end) as incidents_closed_90d,
        sum(case when closed_at >= {{ dbt.dateadd('day', -days, 'as_of_local') }} and closed_at <= as_of_local and deadline_at is not null then 1 else 0 end) as timed_closed_90d,
        sum(case when closed_at >= {{ dbt.dateadd('day', -days, 'as_of_local') }} and closed_at <= as_of_local and deadline_at is not null and not is_overdue then 1 else 0 end) as on_time_closed_90d,
        sum(case when closed_at >= {{ dbt.dateadd('day', -days, 'as_of_local') }} and closed_at <= as_of_local and satisfaction in ('满意', '基本满意', '不满意') then 1 else 0 end) as rated_90d,
        sum(case when closed_at >= {{ dbt.dateadd('day', -days, 'as_of_local') }} and closed_at <= as_of_local and satisfaction in ('满意', '基本满意') then 1 else 0 end) as satisfied_90d
    from {{ ref('int_incidents_timed') }}
    where grid_code is not null
    group by grid_code
)
select
    g.grid_code,
    cast(coalesce(p.residents, 0) as bigint) as residents,
    cast(coalesce(p.registered_residents, 0) as bigint) as registered_residents,
    cast(coalesce(p.floating_residents, 0) as bigint) as floating_residents,
    cast(coalesce(hh.households, 0) as bigint) as households,
    cast(coalesce(h.houses, 0) as bigint) as houses,
    cast(coalesce(h.vacant_houses, 0) as bigint) as vacant_houses,
    cast(coalesce(m.party_members, 0) as bigint) as party_members,
    cast(coalesce(p.resident_party_members, 0) as bigint) as resident_party_members,
    cast(coalesce(o.party_branches, 0) as bigint) as party_branches,
    cast(coalesce(o.party_groups, 0) as bigint) as party_groups,
    cast(coalesce(i.incidents_open, 0) as bigint) as incidents_open,
    cast(coalesce(i.incidents_closed_90d, 0) as bigint) as incidents_closed_90d,
    cast({{ onegrid.safe_ratio('i.on_time_closed_90d', 'i.timed_closed_90d') }} as double) as on_time_rate_90d,
    cast({{ onegrid.safe_ratio('i.satisfied_90d', 'i.rated_90d') }} as double) as satisfaction_rate_90d
from g
left join people p on p.grid_code = g.grid_code
left join hh on hh.grid_code = g.grid_code
left join houses h on h.grid_code = g.grid_code
left join members m on m.grid_code = g.grid_code
left join orgs o on o.grid_code = g.grid_code
left join inc i on i.grid_code = g.grid_code
