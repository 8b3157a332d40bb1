{{ config(materialized='view') }}
-- Current household persons (人员编号) records: one row per source record id, records ended by a delta removed.
select {{ onegrid.star_except('v', ['_is_ended']) }}
from {{ ref('int_person_record_versions') }} v
where not v._is_ended
