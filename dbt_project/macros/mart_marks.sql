{#-
  Incremental published marts. A published mart's columns are its contract
  (shared/contracts/marts.md), with no room for a build stamp; so the mart keeps the start of
  its last build in a one-row table of its own, `<target schema>.onegrid_mark__<mart>`, written
  by its post_hook (mart_mark_save) in the same transaction as its rows. A build takes from the
  model the mart projects only the rows written there since (their _built_at, macros/people/
  incremental_chain.sql):
    - a mart that is a projection appends them, after its pre_hook deleted the rows it writes
      again and those that left (mart_delete_rewritten: one anti-join);
    - a mart that also rewrites rows for another reason (dim_house: the dwellings whose number
      of residents changed) replaces its rows by key (delete+insert) and deletes those that
      left in a post_hook (mart_delete_gone).
  Rows a mart makes from inputs it reads whole are kept while a mark of those inputs, stored
  beside its own (mart_mark_save(inputs_sql)), is unchanged (mart_inputs_unchanged).
  Without a stored mark (a warehouse built before marts were incremental) every row is taken.
  The marts always equal a full rebuild (tests/test_dbt_incremental.py).
-#}
{% macro mart_mark_relation() -%}
{{ return(api.Relation.create(database=this.database, schema=target.schema,
                              identifier='onegrid_mark__' ~ this.identifier)) }}
{%- endmacro %}

{#- the mark table of this mart when it exists (none before its first build) -#}
{% macro mart_mark_stored() -%}
{%- if not execute -%}{{ return(none) }}{%- endif -%}
{%- set rel = onegrid.mart_mark_relation() -%}
{{ return(adapter.get_relation(database=rel.database, schema=rel.schema, identifier=rel.identifier)) }}
{%- endmacro %}

{#- the start of this mart's last build (1900 when it has no stored mark), read when the mart is
    compiled and written as a literal (see last_built) -#}
{% macro mart_last_built() -%}
{%- set rel = onegrid.mart_mark_stored() -%}
{%- set value = '1900-01-01' -%}
{%- if rel is not none -%}
  {%- set value = run_query("select cast(coalesce(max(built_at), cast('1900-01-01' as timestamp)) as varchar) from " ~ rel).columns[0].values()[0] -%}
{%- endif -%}
cast('{{ value }}' as timestamp)
{%- endmacro %}

{#- post_hook: store the start of this build as the mart's mark, and the value of `inputs_sql`
    (a query of one text value: a mark of inputs read whole, see mart_inputs_unchanged) -#}
{% macro mart_mark_save(inputs_sql=none) -%}
create or replace table {{ onegrid.mart_mark_relation() }} as
select {{ onegrid.build_stamp() }} as built_at,
       {% if inputs_sql %}({{ inputs_sql }}){% else %}cast(null as varchar){% endif %} as inputs
{%- endmacro %}

{#- true on an incremental build when the mark of inputs the mart reads whole (`inputs_sql`, as
    given to mart_mark_save) is the one stored with its last build: the rows made from those
    inputs can stay -#}
{% macro mart_inputs_unchanged(inputs_sql) -%}
{%- if not (execute and is_incremental()) -%}{{ return(false) }}{%- endif -%}
{%- set rel = onegrid.mart_mark_stored() -%}
{%- if rel is none -%}{{ return(false) }}{%- endif -%}
{%- set stored = run_query("select * from " ~ rel) -%}
{%- if 'inputs' not in stored.column_names or stored.rows | length == 0 -%}{{ return(false) }}{%- endif -%}
{%- set now = run_query(inputs_sql).columns[0].values()[0] -%}
{{ return(stored.columns['inputs'].values()[0] is not none and stored.columns['inputs'].values()[0] == now) }}
{%- endmacro %}

{#- post_hook: on an incremental build, delete the rows whose key (a column, or several separated
    by commas) is no longer in `relation`, the model whose rows this one mirrors (dim_house:
    int_houses_resolved; int_house_details: dim_house) -#}
{% macro mart_delete_gone(key, relation) -%}
{{ onegrid.delete_if_incremental("(" ~ key ~ ") not in (select " ~ key ~ " from " ~ relation ~ ")") }}
{%- endmacro %}

{#- pre_hook of an appending mart: on an incremental build, delete every row whose key (columns
    separated by commas) is not among the rows of `relation` written before the mart's last
    build: the rows written there since, those that left, and the rows from elsewhere, which the
    build writes again whole unless they meet `keep` -#}
{% macro mart_delete_rewritten(key, relation, keep=none) -%}
{{ onegrid.delete_if_incremental(("not (" ~ keep ~ ") and " if keep else "")
                                 ~ "(" ~ key ~ ") not in (select " ~ key ~ " from " ~ relation
                                 ~ " where _built_at <= " ~ onegrid.mart_last_built() ~ ")") }}
{%- endmacro %}
