{{ config(enabled=('dim_house' in var('er_stubs', [])), schema='marts', contract={'enforced': false}) }}
select r.house_key, {{ onegrid.normalise_address('h.address') }} as address_std, h.compound, h.building, h.unit, h.room,
       h.use, h.status, h.floor_area_m2, h.lon, h.lat, r.grid_code, h.property_company,
       h.community_name,
       (select count(*) from {{ ref('int_person_records_latest') }} p where p.current_address = h.address) as residents
from {{ ref('int_house_records_latest') }} h join {{ ref('int_house_records_resolved') }} r on r.source_record_id = h.record_id
