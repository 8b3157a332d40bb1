{#- Select a bronze source table with its declared columns and types (from the source YAML).
    When no file matches the source's glob yet (a source never delivered, no issues), returns
    an empty relation with the same columns and types, so everything downstream still builds. -#}
{% macro bronze_files_exist(glob_path) -%}
  {%- if not execute -%}{{ return(false) }}{%- endif -%}
  {%- set res = run_query("select count(*) from glob('" ~ glob_path ~ "')") -%}
  {{ return(res.columns[0].values()[0] > 0) }}
{%- endmacro %}

{% macro bronze_glob(source_name, table_name) -%}
  {%- if source_name == 'onegrid' -%}
    {{ env_var('ONEGRID_DATA_DIR') }}/issues/*/*.parquet
  {%- else -%}
    {{ env_var('ONEGRID_DATA_DIR') }}/bronze/{{ source_name }}/{{ table_name }}/*/*.parquet
  {%- endif -%}
{%- endmacro %}

{% macro bronze_select(source_name, table_name) -%}
  {%- set rel = source(source_name, table_name) -%}
  {%- set node = graph.sources['source.onegrid.' ~ source_name ~ '.' ~ table_name] if execute else none -%}
  {%- if node is none -%}
    select * from {{ rel }}
  {%- else -%}
    {%- set cols = node.columns.values() | list -%}
    {%- if onegrid.bronze_files_exist(onegrid.bronze_glob(source_name, table_name) | trim) -%}
    select
      {%- for c in cols %}
      cast({{ adapter.quote(c.name) }} as {{ c.data_type }}) as {{ adapter.quote(c.name) }}{{ "," if not loop.last }}
      {%- endfor %}
    from {{ rel }}
    {%- else -%}
    select
      {%- for c in cols %}
      cast(null as {{ c.data_type }}) as {{ adapter.quote(c.name) }}{{ "," if not loop.last }}
      {%- endfor %}
    where 1 = 0
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}
