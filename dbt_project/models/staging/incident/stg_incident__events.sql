-- Grid events (事件), every accepted delivery: one row per event state delivered.
{{ onegrid.bronze_select('incident', 'events') }}
