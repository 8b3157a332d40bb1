-- Organisation × grid: the grids each current 网格党支部 / 党小组 covers (覆盖网格编码), each item
-- a unified code or a legacy 党建 code resolved through 多网合一. A branch lists its groups'
-- grids too. Items that resolve to no grid are kept out (reported by int_party_findings).
with items as (
    {{ onegrid.split_to_rows(ref('int_org_records_latest'), 'record_id', 'covered_grid_codes', ';') }}
),
resolved as (
    select
        i.split_key as org_code,
        i.item,
        coalesce(g.grid_code, l.grid_code) as grid_code,
        case when g.grid_code is not null then 'unified_code'
             when l.grid_code is not null then 'legacy_grid' end as resolved_via
    from items i
    left join {{ ref('int_grids_validated') }} g on g.grid_code = i.item
    left join {{ ref('int_legacy_grids_resolved') }} l
      on l.legacy_system = '党建' and l.legacy_code = i.item
    where i.item <> ''
)
select org_code, grid_code, min(resolved_via) as resolved_via
from resolved
where grid_code is not null
group by org_code, grid_code
