-- Current party members linked to their organisation, placed by the area of that organisation
-- (party members are counted where their organisation is): its grid when it covers exactly one,
-- its community, street and district.
select
    m.record_id as member_record_id,
    m._record_key,
    m.org_code,
    o.org_type,
    o.org_level,
    o.grid_code as org_grid_code,
    o.community_code,
    o.street_code,
    o.district_code,
    o.community_org_code,
    o.branch_org_code,
    m.member_category,
    m.member_status,
    m.dual_registration_community,
    m.id_hash,
    m._delivery_id
from {{ ref('int_member_records_latest') }} m
left join {{ ref('int_party_orgs_tree') }} o on o.org_code = m.org_code
