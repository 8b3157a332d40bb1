-- Every problem found in the data, one row each: the ingestion findings (quarantined and flagged
-- rows, rejected deliveries) and the warehouse's own findings (grid base map, party roster).
-- detail never holds an identifier in clear (ID and phone numbers are scrubbed).
with ingestion as (
    select source, source_record_id, delivery_id, rule, severity, action, file, row_number,
           {{ onegrid.scrub_identifiers('detail') }} as detail
    from {{ ref('stg_onegrid__issues') }}
),
warehouse as (
    select source, source_record_id, delivery_id, rule, severity, 'reported' as action,
           cast(null as varchar) as file, cast(null as bigint) as row_number, detail
    from {{ ref('int_grid_findings') }}
    union all
    select source, source_record_id, delivery_id, rule, severity, 'reported', null, null, detail
    from {{ ref('int_party_findings') }}
)
select
    source, source_record_id, delivery_id, rule, severity, action, file, row_number, detail,
    'ingestion' as found_by
from ingestion
union all
select
    source, source_record_id, delivery_id, rule, severity, action, file, row_number, detail,
    'warehouse' as found_by
from warehouse
