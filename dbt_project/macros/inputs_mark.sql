{#-
  Skip a rebuild when nothing a model reads has changed.

  For an incremental model whose output is a function of inputs that change rarely (a source
  that delivered nothing new since the last build). `mark_sql` is a query returning one row,
  one text column: a mark of those inputs (the newest delivery of each source table read), with
  code changes covered by the build's code fingerprints (pipelines/lib/incremental.py). The
  model stores the mark in every row (_inputs_mark) and:
    inputs_mark_unchanged(mark_sql)  true on an incremental build whose stored rows carry the
                                     current mark: the model then selects no rows;
    inputs_mark_reset(mark_sql)      pre_hook: deletes the stored rows when the mark differs,
                                     so the model rebuilds all of them.
  The table always equals a full rebuild (tests/test_dbt_incremental.py).
-#}
{% macro inputs_mark_unchanged(mark_sql) -%}
{%- if not (execute and is_incremental()) -%}{{ return(false) }}{%- endif -%}
{%- set q -%}
select count(*) from (
    select 1 from {{ this }} where _inputs_mark = ({{ mark_sql }}) limit 1
) fresh
{%- endset -%}
{{ return(run_query(q).columns[0].values()[0] > 0) }}
{%- endmacro %}

{% macro inputs_mark_reset(mark_sql) -%}
{{ onegrid.delete_if_incremental("not (" ~ onegrid.inputs_mark_kept(mark_sql) ~ ")") }}
{%- endmacro %}

{#- the condition a stored row meets when inputs_mark_reset keeps it -#}
{% macro inputs_mark_kept(mark_sql) -%}
_inputs_mark is not distinct from ({{ mark_sql }})
{%- endmacro %}

{#- the mark of int_house_records_resolved: the newest housing and grid deliveries -#}
{% macro house_records_inputs_mark() -%}
select {{ dbt.concat([
    "coalesce(max(v._delivery_id), '')", "'|'",
    "(select coalesce(max(g._delivery_id), '') from " ~ ref('stg_grid__grids') ~ " g)"]) }}
from {{ ref('int_house_record_versions') }} v
{%- endmacro %}

{#- the mark of the dwellings (int_house_records_resolved) for the models built on them:
    int_person_records_placed and int_houses_resolved -#}
{% macro dwellings_inputs_mark() -%}
select coalesce(max(_inputs_mark), '') as _inputs_mark from {{ ref('int_house_records_resolved') }}
{%- endmacro %}
