-- Current party organisations (one row per 组织编码): 撤销 ends an organisation.
{{ onegrid.current_state(ref('stg_party__orgs'), ending_changes=['撤销', '转出'],
    fallback_columns=['founded_date']) }}
