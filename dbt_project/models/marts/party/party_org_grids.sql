-- The grids each current party organisation covers (网格党支部 and 党小组 list them; community
-- and street organisations cover the grids of everything below them).
with direct as (
    select org_code, grid_code, resolved_via, true as is_listed
    from {{ ref('int_party_org_grids') }}
),
inherited as (
    -- grids of the organisations below a community or street organisation
    select t.community_org_code as org_code, d.grid_code, min(d.resolved_via) as resolved_via, false as is_listed
    from direct d join {{ ref('int_party_orgs_tree') }} t on t.org_code = d.org_code
    where t.community_org_code is not null and t.community_org_code <> t.org_code
    group by t.community_org_code, d.grid_code
    union all
    select t.street_org_code, d.grid_code, min(d.resolved_via), false
    from direct d join {{ ref('int_party_orgs_tree') }} t on t.org_code = d.org_code
    where t.street_org_code is not null and t.street_org_code <> t.org_code
    group by t.street_org_code, d.grid_code
),
all_pairs as (
    select * from direct
    union all
    select i.* from inherited i
    where not exists (select 1 from direct d where d.org_code = i.org_code and d.grid_code = i.grid_code)
)
select
    cast(a.org_code as varchar) as org_code,
    cast(t.org_name as varchar) as org_name,
    cast(t.org_type as varchar) as org_type,
    cast(t.org_level as varchar) as org_level,
    cast(a.grid_code as varchar) as grid_code,
    cast(a.resolved_via as varchar) as resolved_via,
    cast(a.is_listed as boolean) as is_listed
from all_pairs a
join {{ ref('int_party_orgs_tree') }} t on t.org_code = a.org_code
