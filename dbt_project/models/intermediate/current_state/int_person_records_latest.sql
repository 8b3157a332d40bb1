-- Current household person records (one row per 人员编号): full/delta semantics, 迁出/死亡 end a record.
{{ onegrid.current_state(ref('stg_household__persons'), ending_changes=['迁出', '死亡'],
    fallback_columns=['birth_date', 'change_date']) }}
