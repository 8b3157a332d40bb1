-- Actual housing (实有房屋), every accepted delivery, as bronze.
{{ onegrid.bronze_select('housing', 'houses') }}
