-- The party organisation tree (街道党工委 → 社区党委/党总支 → 网格党支部 → 党小组) of current
-- organisations, one row per org, with its level, ancestors, and the grids it covers (resolved
-- through int_party_org_grids), placed in a community and street.
--   org_level: street (党工委), community (党委/党总支, and a 党支部 directly under a 党工委),
--              grid_branch (党支部 under a community organisation), group (党小组), other.
with o as (
    select record_id as org_code, org_name, org_type, parent_org_code, covered_grid_codes,
           founded_date, _delivery_id
    from {{ ref('int_org_records_latest') }}
),
leveled as (
    select
        o.*,
        p.org_type as parent_org_type,
        case
            when o.org_type = '党工委' then 'street'
            when o.org_type in ('党委', '党总支') then 'community'
            when o.org_type = '党支部' and p.org_type = '党工委' then 'community'
            when o.org_type = '党支部' then 'grid_branch'
            when o.org_type = '党小组' then 'group'
            else 'other'
        end as org_level
    from o left join o p on p.org_code = o.parent_org_code
),
chain as (
    -- ancestors up to three levels (the tree is at most four deep)
    select
        l.*,
        p1.org_code as p1_code, p1.org_level as p1_level,
        p2.org_code as p2_code, p2.org_level as p2_level,
        p3.org_code as p3_code, p3.org_level as p3_level
    from leveled l
    left join leveled p1 on p1.org_code = l.parent_org_code
    left join leveled p2 on p2.org_code = p1.parent_org_code
    left join leveled p3 on p3.org_code = p2.parent_org_code
),
anc as (
    select
        chain.*,
        case when org_level = 'street' then org_code
             when p1_level = 'street' then p1_code
             when p2_level = 'street' then p2_code
             when p3_level = 'street' then p3_code end as street_org_code,
        case when org_level = 'community' then org_code
             when p1_level = 'community' then p1_code
             when p2_level = 'community' then p2_code end as community_org_code,
        case when org_level = 'grid_branch' then org_code
             when p1_level = 'grid_branch' then p1_code end as branch_org_code
    from chain
),
org_grid_stats as (
    select org_code, count(*) as covered_grids, min(grid_code) as min_grid_code
    from {{ ref('int_party_org_grids') }}
    group by org_code
),
-- grids under a community / street org: those of every org below it
subtree_grids as (
    select a.community_org_code as org_code, g.grid_code
    from anc a join {{ ref('int_party_org_grids') }} g on g.org_code = a.org_code
    where a.community_org_code is not null
    union
    select a.street_org_code, g.grid_code
    from anc a join {{ ref('int_party_org_grids') }} g on g.org_code = a.org_code
    where a.street_org_code is not null
    union
    select org_code, grid_code from {{ ref('int_party_org_grids') }}
),
org_area as (
    -- the community / street most of the org's (subtree) grids lie in
    select c.org_code, c.community_code, s.street_code, s.district_code
    from (
        select org_code, community_code,
               row_number() over (partition by org_code order by n desc, community_code) as rk
        from (
            select s.org_code, gv.community_code, count(*) as n
            from subtree_grids s join {{ ref('int_grids_validated') }} gv on gv.grid_code = s.grid_code
            group by s.org_code, gv.community_code
        ) x
    ) c
    join (
        select org_code, street_code, district_code,
               row_number() over (partition by org_code order by n desc, street_code) as rk
        from (
            select s.org_code, gv.street_code, gv.district_code, count(*) as n
            from subtree_grids s join {{ ref('int_grids_validated') }} gv on gv.grid_code = s.grid_code
            group by s.org_code, gv.street_code, gv.district_code
        ) x
    ) s on s.org_code = c.org_code and s.rk = 1
    where c.rk = 1
)
select
    a.org_code,
    a.org_name,
    a.org_type,
    a.org_level,
    a.parent_org_code,
    a.parent_org_type,
    a.street_org_code,
    a.community_org_code,
    a.branch_org_code,
    coalesce(gs.covered_grids, 0) as covered_grids,
    case when gs.covered_grids = 1 then gs.min_grid_code end as grid_code,
    case when a.org_level <> 'street' then coalesce(ar.community_code, ca.community_code) end as community_code,
    coalesce(ar.street_code, sa.street_code, ca.street_code) as street_code,
    coalesce(ar.district_code, sa.district_code, ca.district_code) as district_code,
    a.founded_date,
    a._delivery_id
from anc a
left join org_grid_stats gs on gs.org_code = a.org_code
left join org_area ar on ar.org_code = a.org_code
left join org_area ca on ca.org_code = a.community_org_code
left join org_area sa on sa.org_code = a.street_org_code
