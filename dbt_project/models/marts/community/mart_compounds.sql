{{ config(enabled=(var('people_source', 'er') != 'none')) }}
-- Residential compounds (小区/楼院) per community: property management present or not (红色物业
-- coverage; a compound with none is a 无主管楼院), dwellings and residents.
select
    cast(community_code as varchar) as community_code,
    cast(min(community_name) as varchar) as community_name,
    cast(min(street_code) as varchar) as street_code,
    cast(compound as varchar) as compound,
    cast(max(property_company) is not null as boolean) as has_property_company,
    cast(max(property_company) is null as boolean) as is_unmanaged,
    cast(count(*) as bigint) as dwellings,
    cast(coalesce(sum(residents), 0) as bigint) as residents,
    cast(count(distinct grid_code) as bigint) as grids
from {{ ref('int_house_details') }}
where community_code is not null and compound is not null and compound <> ''
group by community_code, compound
