{{ config(enabled=(var('people_source', 'er') != 'none')) }}
-- Current party members as real people: one row per (person, organisation) with the
-- organisation's area; a person registered twice in the roster counts once.
select
    coalesce(r.person_key, m.id_hash, m._record_key) as person_key,
    min(m.org_code) as org_code,
    min(m.org_grid_code) as org_grid_code,
    min(m.community_code) as community_code,
    min(m.street_code) as street_code,
    min(m.district_code) as district_code,
    max(case when m.dual_registration_community is not null and m.dual_registration_community <> '' then 1 else 0 end) as is_dual_registered,
    min(m.dual_registration_community) as dual_registration_community
from {{ ref('int_party_members') }} m
left join {{ ref('int_person_records_resolved') }} r
  on r.source = 'party' and r.source_record_id = m.member_record_id
group by 1
