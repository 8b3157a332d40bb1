{{ config(materialized='view') }}
-- Current dwellings (房屋编码) records: one row per source record id, records ended by a delta removed.
select {{ onegrid.star_except('v', ['_is_ended']) }}
from {{ ref('int_house_record_versions') }} v
where not v._is_ended
