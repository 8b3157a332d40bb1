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
{# a unified grid code of the current base map (never a legacy code) #}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and {{ column_name }} not in (select grid_code from {{ ref('int_grids_validated') }})
{% endtest %}

{% test no_identifiers(model, column_name) %}
{# no 18-character ID number or mobile phone number in a free-text column #}
select {{ column_name }}
from {{ model }}
where {{ column_name }} <> {{ onegrid.scrub_identifiers(column_name) }}
{% endtest %}
