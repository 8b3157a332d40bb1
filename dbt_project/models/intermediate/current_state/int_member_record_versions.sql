{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='record_id',
    on_schema_change='fail',
    pre_hook="{{ onegrid.current_state_reset(ref('stg_party__members')) }}"
) }}
-- Latest version of every party members (党员编号) record since the latest full delivery, ended ones flagged
-- (_is_ended); incremental on _delivery_id (macros/current_state.sql).
{{ onegrid.current_state_versions(ref('stg_party__members'), ending_changes=['转出', '死亡', '撤销'],
    fallback_columns=['birth_date', 'joined_date', 'full_member_date']) }}
