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
      {{ onegrid.bronze_cast(adapter.quote(c.name), c.data_type) }} as {{ adapter.quote(c.name) }}{{ "," if not loop.last }}
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

{#- A bronze column as its declared type. Bronze timestamps are instants in UTC: the lineage
    column _extracted_at is stored with its zone (TIMESTAMPTZ), event times without. DuckDB casts
    TIMESTAMPTZ to TIMESTAMP through the session time zone, value by value (10M residents: 0.9 s
    for each read of the person deliveries' _extracted_at, which every versions build does);
    the instant's microseconds give the same UTC timestamp (the profile's TimeZone is UTC) for
    both kinds at no cost. -#}
{% macro bronze_cast(col, data_type) -%}{{ return(adapter.dispatch('bronze_cast', 'onegrid')(col, data_type)) }}{%- endmacro %}
{% macro duckdb__bronze_cast(col, data_type) -%}
  {%- if data_type | lower == 'timestamp' -%}
    make_timestamp(epoch_us({{ col }}))
  {%- else -%}
    cast({{ col }} as {{ data_type }})
  {%- endif -%}
{%- endmacro %}
{% macro default__bronze_cast(col, data_type) -%}cast({{ col }} as {{ data_type }}){%- endmacro %}
