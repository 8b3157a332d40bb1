-- Current dwelling records (one row per 房屋编码): 注销 ends a record.
{{ onegrid.current_state(ref('stg_housing__houses'), ending_changes=['注销'],
    fallback_columns=['floor_area_m2', 'lon', 'lat']) }}
