{#-
  The incremental chain of person resolution (int_person_id_clusters → int_person_records_placed
  → int_person_records_resolved → int_persons_resolved). Every row a build writes carries
  _built_at, the start of that build; a model finds the rows of the model before it written
  since its own last build by comparing the two (a model not selected in a build catches up in
  the next one, since its own newest _built_at stays older).
-#}
{% macro build_stamp() -%}
cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- the start of this model's last build that wrote a row (1900 when it holds none), from the
    stamp column `stamp` of its rows -#}
{% macro last_built(stamp='_built_at') -%}
(select coalesce(max({{ stamp }}), cast('1900-01-01' as timestamp)) from {{ this }})
{%- endmacro %}

{#- the keys whose number of rows in `relation` differs from the count this model stored for
    them in `stored_count` (n = 0: no row left), for a model with one row per key -#}
{% macro count_changed(relation, key, stored_count) -%}
    select coalesce(c.{{ key }}, t.{{ key }}) as {{ key }}, coalesce(c.n, 0) as n
    from (
        select {{ key }}, count(*) as n from {{ relation }}
        where {{ key }} is not null
        group by {{ key }}
    ) c
    full join (select {{ key }}, {{ stored_count }} from {{ this }}) t on t.{{ key }} = c.{{ key }}
    where c.n is distinct from t.{{ stored_count }}
{%- endmacro %}
