{{ config(enabled=('int_house_records_resolved' in var('er_stubs', [])), schema='intermediate') }}
with placed as ({{ onegrid.place_points_on_grids("(select record_id, lon, lat from " ~ ref('int_house_records_latest') ~ ")", 'record_id', 'lon', 'lat') }})
select 'housing' as source, h.record_id as source_record_id, h._record_key as house_key,
       p.grid_code, 'point_in_grid' as match_rule, 1.0 as match_score
from {{ ref('int_house_records_latest') }} h left join placed p on p.point_key = h.record_id
