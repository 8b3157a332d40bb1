-- Current party member records (one row per 党员编号): 转出/死亡 end a record.
{{ onegrid.current_state(ref('stg_party__members'), ending_changes=['转出', '死亡', '撤销'],
    fallback_columns=['birth_date', 'joined_date', 'full_member_date']) }}
