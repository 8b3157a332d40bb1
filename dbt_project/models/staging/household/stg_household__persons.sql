-- Household persons (户籍与实有人口), every accepted delivery, as bronze.
{{ onegrid.bronze_select('household', 'persons') }}
