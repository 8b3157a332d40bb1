{{ config(materialized='view') }}
-- Current household persons (source 'household') and party members (source 'party') in one
-- shape, from the current-state views (restricted zone: keeps the normalised id_number; raw
-- numbers never reach bronze). A view: the current-state views are cheap filtered scans, and
-- writing 1.4M wide rows cost more than reading the few columns each consumer needs.
select
    'household' as source,
    record_id as source_record_id,
    _record_key,
    _delivery_id,
    id_number, id_status, id_hash,
    name, gender, birth_date, ethnicity,
    household_key, relation, residency_status, phone,
    current_address as live_address,
    registered_address
from {{ ref('int_person_records_latest') }}
union all
select
    'party', record_id, _record_key, _delivery_id,
    id_number, id_status, id_hash,
    name, gender, birth_date, ethnicity,
    null, null, null, phone,
    home_address,
    null
from {{ ref('int_member_records_latest') }}
