{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='record_id',
    on_schema_change='fail',
    pre_hook="{{ onegrid.current_state_reset(ref('stg_party__orgs')) }}"
) }}
-- Latest version of every party organisations (组织编码) record since the latest full delivery, ended ones flagged
-- (_is_ended); incremental on _delivery_id (macros/current_state.sql).
{{ onegrid.current_state_versions(ref('stg_party__orgs'), ending_changes=['撤销', '转出'],
    fallback_columns=['founded_date']) }}
