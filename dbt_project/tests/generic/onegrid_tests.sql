{# Generic tests written here (no dbt_utils / dbt_expectations: `dbt deps` cannot reach the hub). #}

{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test between(model, column_name, min_value, max_value) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}
{% endtest %}

{% test is_grid_code(model, column_name) %}
{# a 15-digit unified grid code (never a legacy code); checked on the value alone so that the
   test needs no other relation (partial builds select it without the grid models) #}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not {{ onegrid.is_digits(column_name, 15) }}
{% endtest %}

{% test no_identifiers(model, column_name) %}
{# no 18-character ID number or mobile phone number in a free-text column #}
select {{ column_name }}
from {{ model }}
where {{ column_name }} <> {{ onegrid.scrub_identifiers(column_name) }}
{% endtest %}

{% test unique_in_build(model, column_name, stamp='_built_at') %}
{#- `unique` for an incremental model whose every written row carries this build's stamp
    (onegrid.build_stamp()) in `stamp`. When this dbt invocation wrote only part of the table,
    only the values of the rows it wrote are checked, each against the whole table: a row it did
    not write was checked when it was written, rows are only ever deleted or written, and so a
    duplicate can only involve a written row. Otherwise (a full build, or a `dbt test` of its
    own) every value is checked, as by `unique`. At 10M residents the whole-table test took
    2.2-2.4 s per model in a 1% delta. -#}
{%- set scoped = false -%}
{%- if execute and model is not string and load_relation(model) is not none -%}
  {%- set q -%}
    select cast(count(*) filter (where {{ stamp }} = {{ onegrid.build_stamp() }}) as bigint),
           cast(count(*) as bigint)
    from {{ model }}
  {%- endset -%}
  {%- set row = run_query(q).rows[0] -%}
  {%- set scoped = row[0] > 0 and row[0] < row[1] -%}
{%- endif %}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
{%- if scoped %}
  and {{ column_name }} in (
      select {{ column_name }} from {{ model }} where {{ stamp }} = {{ onegrid.build_stamp() }})
{%- endif %}
group by {{ column_name }}
having count(*) > 1
{% endtest %}
