-- Party roster problems in the quality_issues shape: covered grid codes that resolve to no grid,
-- organisations whose parent is unknown, members of an unknown organisation.
with items as (
    {{ onegrid.split_to_rows(ref('int_org_records_latest'), 'record_id', 'covered_grid_codes', ';') }}
),
orgs as (select * from {{ ref('int_org_records_latest') }})
select 'party' as source, i.split_key as source_record_id, o._delivery_id as delivery_id,
       'covered_grid_unknown' as rule, 'warning' as severity,
       'covered grid code resolves to no unified grid' as detail
from items i
join orgs o on o.record_id = i.split_key
left join {{ ref('int_grids_validated') }} g on g.grid_code = i.item
left join {{ ref('int_legacy_grids_resolved') }} l on l.legacy_system = '党建' and l.legacy_code = i.item
where i.item <> '' and g.grid_code is null and l.grid_code is null
union all
select 'party', o.record_id, o._delivery_id, 'parent_org_unknown', 'warning',
       'parent organisation is not a current organisation'
from orgs o
where o.parent_org_code is not null
  and o.parent_org_code not in (select record_id from orgs)
union all
select 'party', m.record_id, m._delivery_id, 'member_org_unknown', 'warning',
       'member organisation is not a current organisation'
from {{ ref('int_member_records_latest') }} m
where m.org_code is null or m.org_code not in (select record_id from orgs)
