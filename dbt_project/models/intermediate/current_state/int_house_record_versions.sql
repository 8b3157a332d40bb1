{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='record_id',
    on_schema_change='fail',
    pre_hook="{{ onegrid.current_state_reset(ref('stg_housing__houses')) }}"
) }}
-- Latest version of every dwellings (房屋编码) record since the latest full delivery, ended ones flagged
-- (_is_ended); incremental on _delivery_id (macros/current_state.sql).
{{ onegrid.current_state_versions(ref('stg_housing__houses'), ending_changes=['注销'],
    fallback_columns=['floor_area_m2', 'lon', 'lat']) }}
