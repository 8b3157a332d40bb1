{{ config(materialized='view') }}
-- Current party organisations (组织编码) records: one row per source record id, records ended by a delta removed.
select {{ onegrid.star_except('v', ['_is_ended']) }}
from {{ ref('int_org_record_versions') }} v
where not v._is_ended
