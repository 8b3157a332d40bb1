{#-
  Current state of a source table under the extract contract's full/delta semantics.

  current_state(relation, record_id='record_id', ending_changes=[], fallback_columns=[])
    One row per current source record id:
    - only rows from the latest `full` delivery of the table onwards (by _delivery_id, which sorts
      as text); all rows when the table never had a full delivery (incidents are delta-only);
    - per source record id the latest delivery wins (ties: the first row of the file);
    - a record whose latest change_type is one of `ending_changes` (迁出, 死亡, 注销, …) is dropped;
    - a field listed in that latest row's `_invalid_fields` keeps the value of the most recent
      earlier delivery (≥ the latest full) where it was not invalid, else stays null. Only the
      columns named in `fallback_columns` can be invalid (the ones ingestion nulls).
    Adds `_first_delivery_id` (first delivery of the record in the window) and `_n_deliveries`.

  current_state_versions(...): the same per record id but keeping ended records, flagged
    `_is_ended`, and incremental: with `materialized='incremental'` only deliveries newer than
    the model's latest `_delivery_id` are read, merged with the stored version of the records
    they touch (whose resolved values are the "previous delivery" values). A full delivery newer
    than the stored state empties the model first (pre_hook `current_state_reset`) and everything
    from that full delivery on is recomputed. The result equals a full rebuild.
-#}
{% macro current_state(relation, record_id='record_id', ending_changes=[], fallback_columns=[]) -%}
with cs_input as {{ onegrid.not_materialized() }} (
    {{ onegrid._current_state_window(relation) }}
),
cs_versions as (
    {{ onegrid._current_state_core('cs_input', record_id, ending_changes, fallback_columns) }}
)
select {{ onegrid.star_except('cs_versions', ['_is_ended']) }}
from cs_versions
where not _is_ended
{%- endmacro %}

{% macro current_state_versions(relation, record_id='record_id', ending_changes=[], fallback_columns=[]) -%}
{#- a full refresh reads the window three times: scanning the source again beats storing it -#}
with cs_input as {% if not is_incremental() %}{{ onegrid.not_materialized() }} {% endif %}(
    {%- if is_incremental() %}
    {{ onegrid._current_state_increment(relation, record_id) }}
    {%- else %}
    {{ onegrid._current_state_window(relation) }}
    {%- endif %}
)
select * from (
    {{ onegrid._current_state_core('cs_input', record_id, ending_changes, fallback_columns) }}
) cs_versions
{%- endmacro %}

{#- pre_hook of an incremental versions model: a full delivery newer than the stored state
    supersedes it, so empty the model (the increment then starts from that full delivery). -#}
{% macro current_state_reset(relation) -%}
{%- if is_incremental() -%}
delete from {{ this }}
where (select max(_delivery_id) from {{ relation }} where _delivery_kind = 'full')
    > (select coalesce(max(_delivery_id), '') from {{ this }})
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}

{# rows from the latest full delivery onwards, each its own first delivery #}
{% macro _current_state_window(relation) -%}
    select r.*, r._delivery_id as _first_delivery_id, cast(1 as bigint) as _n_weight
    from {{ relation }} r
    where r._delivery_id >= coalesce(
        (select max(_delivery_id) from {{ relation }} where _delivery_kind = 'full'), '')
{%- endmacro %}

{# new deliveries plus the stored version of the records they touch #}
{% macro _current_state_increment(relation, record_id) -%}
    select r.*, r._delivery_id as _first_delivery_id, cast(1 as bigint) as _n_weight
    from {{ relation }} r
    where r._delivery_id > (select coalesce(max(_delivery_id), '') from {{ this }})
      and r._delivery_id >= coalesce(
        (select max(_delivery_id) from {{ relation }} where _delivery_kind = 'full'), '')
    {{ onegrid.union_all_by_name() }}
    select {{ onegrid.star_except('t', ['_n_deliveries', '_is_ended', '_invalid_fields']) }},
           {{ onegrid.empty_string_list() }} as _invalid_fields,
           t._n_deliveries as _n_weight
    from {{ this }} t
    where t.{{ record_id }} in (
        select {{ record_id }} from {{ relation }}
        where _delivery_id > (select coalesce(max(_delivery_id), '') from {{ this }}))
{%- endmacro %}

{% macro _current_state_core(input, record_id, ending_changes, fallback_columns) -%}
{%- set drop_cols = ['_version_rank', '_first_delivery_id', '_n_weight', '_first_seen', '_n_total'] + fallback_columns -%}
with cs_n as (
    -- versions per record id in the window: in a full refresh nearly every record has one, and
    -- only the others need the window (sorting every wide row cost most of the model)
    select {{ record_id }} as _cs_id, count(*) as _cs_rows
    from {{ input }}
    group by {{ record_id }}
),
cs_multi as (
    -- records with more than one version: ranked, newest first (ties: the first row of the file)
    select
        i.*,
        row_number() over (
            partition by i.{{ record_id }} order by i._delivery_id desc, i._row_number asc
        ) as _version_rank,
        min(i._first_delivery_id) over (partition by i.{{ record_id }}) as _first_seen,
        cast(sum(i._n_weight) over (partition by i.{{ record_id }}) as bigint) as _n_total
    from {{ input }} i
    join cs_n n on n._cs_id = i.{{ record_id }}
    where n._cs_rows > 1
),
cs_latest as (
    -- read once below, so it is not materialised: the single versions pass straight through
    select
        i.*,
        cast(1 as bigint) as _version_rank,
        i._first_delivery_id as _first_seen,
        cast(i._n_weight as bigint) as _n_total
    from {{ input }} i
    join cs_n n on n._cs_id = i.{{ record_id }}
    where n._cs_rows = 1
    union all
    select * from cs_multi where _version_rank = 1
)
{%- for col in fallback_columns %},
cs_fallback_{{ loop.index }} as (
    -- an invalid field keeps the newest earlier valid value (only records with versions have one)
    select {{ record_id }}, {{ col }}
    from (
        select r.{{ record_id }}, r.{{ col }},
            row_number() over (partition by r.{{ record_id }} order by r._delivery_id desc, r._row_number asc) as _rk
        from cs_multi r
        where r._version_rank > 1
          and not {{ onegrid.list_has('r._invalid_fields', "'" ~ col ~ "'") }}
          and r.{{ record_id }} in (
              select {{ record_id }} from cs_multi
              where _version_rank = 1 and {{ onegrid.list_has('_invalid_fields', "'" ~ col ~ "'") }})
    ) x
    where _rk = 1
)
{%- endfor %}
select
    {{ onegrid.star_except('cs_latest', drop_cols) }}
    {%- for col in fallback_columns %},
    case when {{ onegrid.list_has('cs_latest._invalid_fields', "'" ~ col ~ "'") }}
         then cs_fallback_{{ loop.index }}.{{ col }} else cs_latest.{{ col }} end as {{ col }}
    {%- endfor %},
    cs_latest._first_seen as _first_delivery_id,
    cast(cs_latest._n_total as bigint) as _n_deliveries,
    {%- if ending_changes %}
    coalesce(cs_latest.change_type, '') in (
        {%- for c in ending_changes %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
    {%- else %}
    false
    {%- endif %} as _is_ended
from cs_latest
{%- for col in fallback_columns %}
left join cs_fallback_{{ loop.index }} on cs_fallback_{{ loop.index }}.{{ record_id }} = cs_latest.{{ record_id }}
{%- endfor %}
{%- endmacro %}
