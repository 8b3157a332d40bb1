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
