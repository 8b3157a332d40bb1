{{ config(enabled=(var('people_source', 'er') != 'none')) }}
-- Per real dwelling (house_key): attributes the published dim_house does not carry, taken from
-- its current housing records (floor, property company), and the community of its grid.
select
    d.house_key,
    d.grid_code,
    g.community_code,
    g.community_name,
    g.street_code,
    d.compound,
    d.building,
    d.unit,
    d.room,
    max(h.floor) as floor,
    max(nullif(h.property_company, '')) as property_company,
    d.residents
from {{ ref('dim_house') }} d
left join {{ ref('int_house_records_resolved') }} r on r.house_key = d.house_key and r.source = 'housing'
left join {{ ref('int_house_records_latest') }} h on h.record_id = r.source_record_id
left join {{ ref('int_grids_validated') }} g on g.grid_code = d.grid_code
group by d.house_key, d.grid_code, g.community_code, g.community_name, g.street_code,
         d.compound, d.building, d.unit, d.room, d.residents
