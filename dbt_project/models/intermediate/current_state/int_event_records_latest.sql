{{ config(materialized='view') }}
-- Current events (事件编号) records: one row per source record id, records ended by a delta removed.
select {{ onegrid.star_except('v', ['_is_ended']) }}
from {{ ref('int_event_record_versions') }} v
where not v._is_ended
