{#-
  current_state(relation, record_id='record_id', ending_changes=[], fallback_columns=[])

  The current state of a source table under the extract contract's full/delta semantics:
  - only rows from the latest `full` delivery of the table onwards (by _delivery_id, which sorts
    as text); all rows when the table never had a full delivery (incidents are delta-only);
  - per source record id the latest delivery wins (ties: the first row of the file);
  - a record whose latest change_type is one of `ending_changes` (迁出, 死亡, 注销, …) is dropped;
  - a field listed in that latest row's `_invalid_fields` keeps the value of the most recent
    earlier delivery (≥ the latest full) where it was not invalid, else stays null. Only the
    columns named in `fallback_columns` can be invalid (the ones ingestion nulls).
  Adds `_first_delivery_id` (first delivery of the record in the window) and `_n_deliveries`.
-#}
{% macro current_state(relation, record_id='record_id', ending_changes=[], fallback_columns=[], since_full=true) -%}
with windowed as (
    select * from {{ relation }}
    {%- if since_full %}
    where _delivery_id >= coalesce(
        (select max(_delivery_id) from {{ relation }} where _delivery_kind = 'full'), '')
    {%- endif %}
),
ranked as (
    select
        windowed.*,
        row_number() over (
            partition by {{ record_id }} order by _delivery_id desc, _row_number asc
        ) as _version_rank,
        min(_delivery_id) over (partition by {{ record_id }}) as _first_delivery_id,
        count(*) over (partition by {{ record_id }}) as _n_deliveries
    from windowed
),
latest as (
    select * from ranked where _version_rank = 1
)
{%- for col in fallback_columns %},
fallback_{{ loop.index }} as (
    select {{ record_id }}, {{ col }}
    from (
        select r.{{ record_id }}, r.{{ col }},
            row_number() over (partition by r.{{ record_id }} order by r._delivery_id desc, r._row_number asc) as _rk
        from ranked r
        where r._version_rank > 1
          and not {{ onegrid.list_has('r._invalid_fields', "'" ~ col ~ "'") }}
          and r.{{ record_id }} in (
              select {{ record_id }} from latest
              where {{ onegrid.list_has('_invalid_fields', "'" ~ col ~ "'") }})
    ) x
    where _rk = 1
)
{%- endfor %}
select
    {{ onegrid.star_except('latest', ['_version_rank'] + fallback_columns) }}
    {%- for col in fallback_columns %},
    case when {{ onegrid.list_has('latest._invalid_fields', "'" ~ col ~ "'") }}
         then fallback_{{ loop.index }}.{{ col }} else latest.{{ col }} end as {{ col }}
    {%- endfor %}
from latest
{%- for col in fallback_columns %}
left join fallback_{{ loop.index }} on fallback_{{ loop.index }}.{{ record_id }} = latest.{{ record_id }}
{%- endfor %}
{%- if ending_changes %}
where coalesce(latest.change_type, '') not in (
    {%- for c in ending_changes %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
{%- endif %}
{%- endmacro %}

