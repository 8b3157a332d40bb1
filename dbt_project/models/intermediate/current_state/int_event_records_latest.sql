-- Latest state of every event (one row per 事件编号); incident deliveries are deltas.
{{ onegrid.current_state(ref('stg_incident__events'),
    fallback_columns=['reported_at', 'lon', 'lat', 'lon_wgs84', 'lat_wgs84', 'time_limit_hours']) }}
