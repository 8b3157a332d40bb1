{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='record_id',
    on_schema_change='fail',
    pre_hook="{{ onegrid.current_state_reset(ref('stg_incident__events')) }}"
) }}
-- Latest version of every events (事件编号) record since the latest full delivery, ended ones flagged
-- (_is_ended); incremental on _delivery_id (macros/current_state.sql).
{{ onegrid.current_state_versions(ref('stg_incident__events'), ending_changes=[],
    fallback_columns=['reported_at', 'lon', 'lat', 'lon_wgs84', 'lat_wgs84', 'time_limit_hours']) }}
