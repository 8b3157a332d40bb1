{{ config(enabled=('dim_person' in var('er_stubs', [])), schema='marts_restricted', contract={'enforced': false}) }}
select r.person_key, any_value(p.household_key) as household_key, any_value(r.house_key) as house_key,
       any_value(r.grid_code) as grid_code, any_value(p.name) as name, any_value(p.id_number) as id_number,
       any_value(p.gender) as gender, any_value(p.birth_date) as birth_date, any_value(p.ethnicity) as ethnicity,
       any_value(p.residency_status) as residency_status,
       any_value(p.relation) as relation,
       exists (select 1 from {{ ref('int_person_records_resolved') }} x where x.source = 'party' and x.person_key = r.person_key) as is_party_member
from {{ ref('int_person_records_resolved') }} r join {{ ref('int_person_records_latest') }} p on p.record_id = r.source_record_id
where r.source = 'household'
group by r.person_key
