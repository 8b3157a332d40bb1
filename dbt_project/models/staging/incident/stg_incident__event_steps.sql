-- Workflow steps (流转记录) of each delivered event state.
{{ onegrid.bronze_select('incident', 'steps') }}
