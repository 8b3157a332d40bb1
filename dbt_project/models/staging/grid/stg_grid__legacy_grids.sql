-- Legacy departmental grid codes (多网合一 map), every accepted delivery (always full).
{{ onegrid.bronze_select('grid', 'legacy_grid_map') }}
