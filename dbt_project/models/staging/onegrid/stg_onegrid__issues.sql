-- Ingestion findings (quarantined / flagged rows, rejected deliveries); empty when none.
{{ onegrid.bronze_select('onegrid', 'issues') }}
