-- Party organisations (党组织), every accepted delivery, as bronze.
{{ onegrid.bronze_select('party', 'orgs') }}
