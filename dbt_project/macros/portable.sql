{#- Engine-specific SQL behind adapter.dispatch('…', 'onegrid'): duckdb__ implementations, with
    default__ ones written for Spark SQL (the other engine we keep in mind). -#}

{# `alias.*` without some columns #}
{% macro star_except(alias, cols) -%}{{ return(adapter.dispatch('star_except', 'onegrid')(alias, cols)) }}{%- endmacro %}
{% macro duckdb__star_except(alias, cols) -%}{{ alias }}.* exclude ({{ cols | join(', ') }}){%- endmacro %}
{% macro default__star_except(alias, cols) -%}{{ alias }}.* except ({{ cols | join(', ') }}){%- endmacro %}

{# true when a list/array column contains a value; false (not null) for a null list #}
{% macro list_has(list_expr, value) -%}{{ return(adapter.dispatch('list_has', 'onegrid')(list_expr, value)) }}{%- endmacro %}
{% macro duckdb__list_has(list_expr, value) -%}coalesce(list_contains({{ list_expr }}, {{ value }}), false){%- endmacro %}
{% macro default__list_has(list_expr, value) -%}coalesce(array_contains({{ list_expr }}, {{ value }}), false){%- endmacro %}

{# length of a list/array column (0 for null) #}
{% macro list_len(list_expr) -%}{{ return(adapter.dispatch('list_len', 'onegrid')(list_expr)) }}{%- endmacro %}
{% macro duckdb__list_len(list_expr) -%}coalesce(len({{ list_expr }}), 0){%- endmacro %}
{% macro default__list_len(list_expr) -%}coalesce(size({{ list_expr }}), 0){%- endmacro %}

{# split a delimited string into rows: returns a relation fragment `(key, item)` #}
{% macro split_to_rows(relation, key_col, text_col, delimiter) -%}{{ return(adapter.dispatch('split_to_rows', 'onegrid')(relation, key_col, text_col, delimiter)) }}{%- endmacro %}
{% macro duckdb__split_to_rows(relation, key_col, text_col, delimiter) -%}
select {{ key_col }} as split_key, trim(unnest(string_split({{ text_col }}, '{{ delimiter }}'))) as item
from {{ relation }} where {{ text_col }} is not null
{%- endmacro %}
{% macro default__split_to_rows(relation, key_col, text_col, delimiter) -%}
select {{ key_col }} as split_key, trim(item) as item
from {{ relation }} lateral view explode(split({{ text_col }}, '{{ delimiter }}')) t as item
where {{ text_col }} is not null
{%- endmacro %}

{# timestamp + N fractional hours #}
{% macro add_hours(ts, hours) -%}{{ return(adapter.dispatch('add_hours', 'onegrid')(ts, hours)) }}{%- endmacro %}
{% macro duckdb__add_hours(ts, hours) -%}({{ ts }} + to_microseconds(cast(round(({{ hours }}) * 3600e6) as bigint))){%- endmacro %}
{% macro default__add_hours(ts, hours) -%}timestamp_micros(unix_micros({{ ts }}) + cast(round(({{ hours }}) * 3600e6) as bigint)){%- endmacro %}

{# hours between two timestamps (b - a), fractional #}
{% macro hours_between(a, b) -%}{{ return(adapter.dispatch('hours_between', 'onegrid')(a, b)) }}{%- endmacro %}
{% macro duckdb__hours_between(a, b) -%}(epoch({{ b }}) - epoch({{ a }})) / 3600.0{%- endmacro %}
{% macro default__hours_between(a, b) -%}(unix_micros({{ b }}) - unix_micros({{ a }})) / 3600e6{%- endmacro %}

{# UTC timestamp to China local time (UTC+8, no DST) #}
{% macro utc_to_cst(ts) -%}{{ dbt.dateadd('hour', 8, ts) }}{%- endmacro %}

{# median-free share helper: numerator / denominator, null when denominator is 0 #}
{% macro safe_ratio(num, den) -%}case when ({{ den }}) > 0 then cast({{ num }} as double) / ({{ den }}) end{%- endmacro %}

{# true when text is exactly n ASCII digits #}
{% macro is_digits(col, n) -%}{{ return(adapter.dispatch('is_digits', 'onegrid')(col, n)) }}{%- endmacro %}
{% macro duckdb__is_digits(col, n) -%}coalesce(regexp_full_match({{ col }}, '[0-9]{{ '{' ~ n ~ '}' }}'), false){%- endmacro %}
{% macro default__is_digits(col, n) -%}coalesce({{ col }} rlike '^[0-9]{{ '{' ~ n ~ '}' }}$', false){%- endmacro %}

{# ISO day of week, Monday = 1 … Sunday = 7 #}
{% macro day_of_week_iso(d) -%}{{ return(adapter.dispatch('day_of_week_iso', 'onegrid')(d)) }}{%- endmacro %}
{% macro duckdb__day_of_week_iso(d) -%}isodow({{ d }}){%- endmacro %}
{% macro default__day_of_week_iso(d) -%}(dayofweek({{ d }}) + 5) % 7 + 1{%- endmacro %}

{# true when `haystack` contains `needle` as a substring #}
{% macro contains_text(haystack, needle) -%}{{ return(adapter.dispatch('contains_text', 'onegrid')(haystack, needle)) }}{%- endmacro %}
{% macro duckdb__contains_text(haystack, needle) -%}contains({{ haystack }}, {{ needle }}){%- endmacro %}
{% macro default__contains_text(haystack, needle) -%}(instr({{ haystack }}, {{ needle }}) > 0){%- endmacro %}

{#- A light address key for exact matching (bronze text is already NFKC/Simplified): drop spaces,
    unify 幢/号楼 to 栋, drop a trailing 室 and the 号 after a room number. ER's standardiser is
    richer (numerals, prefixes); this one only serves incident placement by address. -#}
{% macro normalise_address(col) -%}{{ return(adapter.dispatch('normalise_address', 'onegrid')(col)) }}{%- endmacro %}
{% macro duckdb__normalise_address(col) -%}
nullif(regexp_replace(regexp_replace(regexp_replace(replace({{ col }}, ' ', ''), '(幢|号楼)', '栋', 'g'), '室$', ''), '^.*?(市)', ''), '')
{%- endmacro %}
{% macro default__normalise_address(col) -%}
nullif(regexp_replace(regexp_replace(regexp_replace(replace({{ col }}, ' ', ''), '(幢|号楼)', '栋'), '室$', ''), '^.*?市', ''), '')
{%- endmacro %}

{# open-tier masking of a person's name: first character then * (张三 → 张*) #}
{% macro mask_name(col) -%}case when {{ col }} is null or {{ col }} = '' then null else {{ dbt.concat([dbt.safe_cast("substr(" ~ col ~ ", 1, 1)", dbt.type_string()), "'*'"]) }} end{%- endmacro %}

{# remove identity numbers (15/18 characters) and mobile phone numbers from free text #}
{% macro scrub_identifiers(col) -%}{{ return(adapter.dispatch('scrub_identifiers', 'onegrid')(col)) }}{%- endmacro %}
{% macro duckdb__scrub_identifiers(col) -%}
regexp_replace(regexp_replace({{ col }}, '[0-9]{17}[0-9Xx]|(^|[^0-9])[0-9]{15}($|[^0-9])', '\1[id]\2', 'g'), '1[3-9][0-9]{9}', '[phone]', 'g')
{%- endmacro %}
{% macro default__scrub_identifiers(col) -%}
regexp_replace(regexp_replace({{ col }}, '[0-9]{17}[0-9Xx]|[0-9]{15}', '[id]'), '1[3-9][0-9]{9}', '[phone]')
{%- endmacro %}

{# UNION ALL matching columns by name #}
{% macro union_all_by_name() -%}{{ return(adapter.dispatch('union_all_by_name', 'onegrid')()) }}{%- endmacro %}
{% macro duckdb__union_all_by_name() -%}union all by name{%- endmacro %}
{% macro default__union_all_by_name() -%}union all{# Spark: select the columns in the same order #}{%- endmacro %}

{# road and number of an address (北京路126号), null when absent #}
{% macro road_number(col) -%}{{ return(adapter.dispatch('road_number', 'onegrid')(col)) }}{%- endmacro %}
{% macro duckdb__road_number(col) -%}nullif(regexp_extract({{ col }}, '[^0-9省州市县区镇乡]{1,8}(路|街|大道|巷|大街)[0-9]+号', 0), ''){%- endmacro %}
{% macro default__road_number(col) -%}nullif(regexp_extract({{ col }}, '([^0-9省州市县区镇乡]{1,8}(路|街|大道|巷|大街)[0-9]+号)', 1), ''){%- endmacro %}

{# building number (3栋, 3幢, 3号楼 → '3'), null when absent #}
{% macro building_number(col) -%}{{ return(adapter.dispatch('building_number', 'onegrid')(col)) }}{%- endmacro %}
{% macro duckdb__building_number(col) -%}nullif(regexp_extract({{ col }}, '([0-9]+)(栋|幢|号楼)', 1), ''){%- endmacro %}
{% macro default__building_number(col) -%}nullif(regexp_extract({{ col }}, '([0-9]+)(栋|幢|号楼)', 1), ''){%- endmacro %}

{# an empty list of strings #}
{% macro empty_string_list() -%}{{ return(adapter.dispatch('empty_string_list', 'onegrid')()) }}{%- endmacro %}
{% macro duckdb__empty_string_list() -%}cast([] as varchar[]){%- endmacro %}
{% macro default__empty_string_list() -%}cast(array() as array<string>){%- endmacro %}

{#- `with x as {{ onegrid.not_materialized() }} (...)`: evaluate a CTE where it is read instead
    of storing it. DuckDB stores a CTE that is read more than once and copies it on every read;
    for a wide CTE that is a cheap scan of a table or view (a projection, a filter), scanning
    again is much cheaper (10M residents: int_person_record_versions 28.7 → 17.0 s). Spark
    inlines CTEs by itself. -#}
{% macro not_materialized() -%}{{ return(adapter.dispatch('not_materialized', 'onegrid')()) }}{%- endmacro %}
{% macro duckdb__not_materialized() -%}not materialized{%- endmacro %}
{% macro default__not_materialized() -%}{%- endmacro %}
