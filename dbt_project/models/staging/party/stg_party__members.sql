-- Party members (党员), every accepted delivery, as bronze.
{{ onegrid.bronze_select('party', 'members') }}
