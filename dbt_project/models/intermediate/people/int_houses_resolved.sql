-- One row per real dwelling (house_key): attributes of its anchor record (the record whose
-- _record_key is the house_key, i.e. the first registration), coordinates from any record that
-- has them, the grid from int_house_records_resolved, and the owner linked to a resolved person
-- through the owner's identity number hash (owner_person_key null when the owner is not a
-- person of the household or party registries, or has no usable number).
with h as (
    select * from {{ ref('int_house_records_resolved') }}
),
coords as (
    select house_key, arg_min(lon, _record_key) as lon, arg_min(lat, _record_key) as lat
    from h where lon is not null and lat is not null
    group by house_key
),
owners as (
    -- id_hash of an accepted number → its person
    select id_hash, min(person_key) as person_key
    from {{ ref('int_person_records_resolved') }}
    where id_accepted
    group by id_hash
)
select
    a.house_key,
    a.address_std,
    a.compound,
    a.building,
    a.unit,
    a.room,
    a.floor,
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
    a.property_company,
    o.person_key as owner_person_key,
    a.owner_id_hash is not null as owner_has_id,
    a.records_in_dwelling as source_records
from h a
left join coords c on c.house_key = a.house_key
left join owners o on o.id_hash = a.owner_id_hash
where a._record_key = a.house_key
