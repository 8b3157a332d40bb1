{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='record_id',
    on_schema_change='fail',
    pre_hook="{{ onegrid.current_state_reset(ref('stg_household__persons')) }}"
) }}
-- Latest version of every household persons (人员编号) record since the latest full delivery, ended ones flagged
-- (_is_ended); incremental on _delivery_id (macros/current_state.sql).
{{ onegrid.current_state_versions(ref('stg_household__persons'), ending_changes=['迁出', '死亡'],
    fallback_columns=['birth_date', 'change_date']) }}
