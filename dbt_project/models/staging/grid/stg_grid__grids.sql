-- Unified grids (网格底图), every accepted delivery (always full).
{{ onegrid.bronze_select('grid', 'grids') }}
