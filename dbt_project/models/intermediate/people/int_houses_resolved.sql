-- One row per real dwelling (house_key): attributes of its anchor record (the record whose
-- _record_key is the house_key, i.e. the first registration), coordinates from any record that
-- has them, the grid from int_house_records_resolved, and the owner linked to a resolved person
-- through the owner's identity number hash (owner_person_key null when the owner is not a
-- person of the household or party registries, or has no usable number).
with rr as (
    select * from {{ ref('int_house_records_resolved') }}
),
h as (
    select h.*, rr.house_key, rr.grid_code, rr.grid_rule, rr.records_in_dwelling,
           a.address_std, a.compound as compound_std, a.building as building_std,
           a.unit as unit_std, a.room as room_std
    from {{ ref('int_house_records_latest') }} h
    join rr on rr.source_record_id = h.record_id
    left join {{ ref('int_addresses_standardised') }} a on a.address_raw = h.address
),
anchor as (
    select * from h where _record_key = house_key
),
coords as (
    select house_key, arg_min(lon, _record_key) as lon, arg_min(lat, _record_key) as lat
    from h where lon is not null and lat is not null
    group by house_key
),
owners as (
    -- id_hash of an accepted number → its person
    select c.id_hash, min(r.person_key) as person_key
    from {{ ref('int_person_id_clusters') }} c
    join {{ ref('int_person_records_resolved') }} r
      on r.source = c.source and r.source_record_id = c.source_record_id
    where c.id_accepted
    group by c.id_hash
)
select
    a.house_key,
    coalesce(a.address_std, a.address) as address_std,
    coalesce(a.compound_std, a.compound) as compound,
    coalesce(a.building_std, {{ onegrid.address_number('a.building') }}) as building,
    coalesce(a.unit_std, {{ onegrid.address_number('a.unit') }}, '1') as unit,
    coalesce(a.room_std, {{ onegrid.address_number('a.room') }}) as room,
    try_cast({{ onegrid.address_number('a.floor') }} as integer) as floor,
    a.use,
    a.status,
    a.floor_area_m2,
    c.lon,
    c.lat,
    a.grid_code,
    a.grid_rule,
    a.district_name,
    a.street_name,
    a.community_name,
    nullif(a.property_company, '') as property_company,
    o.person_key as owner_person_key,
    a.owner_id_hash is not null as owner_has_id,
    a.records_in_dwelling as source_records
from anchor a
left join coords c on c.house_key = a.house_key
left join owners o on o.id_hash = a.owner_id_hash
