{#-
  Address standardisation helpers for entity resolution (adapter-dispatched: duckdb__ is what
  runs; default__ is written for Spark SQL and untested).

  cn_numerals_to_arabic(expr): Chinese numerals → Arabic with cn2an semantics (三 → 3,
  十二 → 12, 二十 → 20, 一百零五 → 105, 五零二 → 502), but only for numeral runs that are an
  address number, i.e. followed by 栋/幢/号楼/号/单元/室/层/楼. Compound names keep their
  numerals (盛世小区一期 stays, 一栋 → 1栋), so the standardised address stays readable.
-#}


{% macro cn_numeral_value(t) -%}{{ return(adapter.dispatch('cn_numeral_value', 'onegrid')(t)) }}{%- endmacro %}

{#- value (as text) of a pure Chinese numeral run `t` (no marker) -#}
{% macro duckdb__cn_numeral_value(t) -%}
{%- set D = '零〇一二两三四五六七八九' -%}{%- set A = '001223456789' -%}
case when regexp_matches({{ t }}, '[十百千]') then cast(
    {{ onegrid._cn_part(t, '([一二两三四五六七八九])千', 0) }} * 1000
  + {{ onegrid._cn_part(t, '([一二两三四五六七八九])百', 0) }} * 100
  + case when contains({{ t }}, '十') then {{ onegrid._cn_part(t, '([一二两三四五六七八九])十', 1) }} * 10 else 0 end
  + {{ onegrid._cn_part(t, '(?:^|[十零〇])([一二两三四五六七八九])$', 0) }} as varchar)
  else translate({{ t }}, '{{ D }}', '{{ A }}') end
{%- endmacro %}

{% macro default__cn_numeral_value(t) -%}
{%- set D = '零〇一二两三四五六七八九' -%}{%- set A = '001223456789' -%}
case when {{ t }} rlike '[十百千]' then cast(
    {{ onegrid._cn_part(t, '([一二两三四五六七八九])千', 0) }} * 1000
  + {{ onegrid._cn_part(t, '([一二两三四五六七八九])百', 0) }} * 100
  + case when instr({{ t }}, '十') > 0 then {{ onegrid._cn_part(t, '([一二两三四五六七八九])十', 1) }} * 10 else 0 end
  + {{ onegrid._cn_part(t, '(?:^|[十零〇])([一二两三四五六七八九])$', 0) }} as string)
  else translate({{ t }}, '{{ D }}', '{{ A }}') end
{%- endmacro %}

{% macro cn_numerals_to_arabic(expr) -%}{{ return(adapter.dispatch('cn_numerals_to_arabic', 'onegrid')(expr)) }}{%- endmacro %}

{% macro duckdb__cn_numerals_to_arabic(expr) -%}
{%- set N = '零〇一二两三四五六七八九十百千' -%}{%- set M = '栋|幢|号楼|号|单元|室|层|楼' -%}
array_to_string(list_transform(
    regexp_extract_all({{ expr }}, '[{{ N }}]+(?:{{ M }})|[{{ N }}]+|[^{{ N }}]+'),
    tok -> case
        when regexp_matches(tok, '^(?:[零〇一二两三四五六七八九]|十)[{{ N }}]*(?:{{ M }})$')
        then {{ onegrid.duckdb__cn_numeral_value("regexp_extract(tok, '^([" ~ N ~ "]+)', 1)") }}
             || regexp_extract(tok, '({{ M }})$', 1)
        else tok end), '')
{%- endmacro %}

{% macro default__cn_numerals_to_arabic(expr) -%}
{%- set N = '零〇一二两三四五六七八九十百千' -%}{%- set M = '栋|幢|号楼|号|单元|室|层|楼' -%}
array_join(transform(
    regexp_extract_all({{ expr }}, '([{{ N }}]+(?:{{ M }})|[{{ N }}]+|[^{{ N }}]+)', 1),
    tok -> case
        when tok rlike '^(?:[零〇一二两三四五六七八九]|十)[{{ N }}]*(?:{{ M }})$'
        then concat({{ onegrid.default__cn_numeral_value("regexp_extract(tok, '^([" ~ N ~ "]+)', 1)") }},
                    regexp_extract(tok, '({{ M }})$', 1))
        else tok end), '')
{%- endmacro %}

{#- 幢 / 号楼 after a building number → 栋 -#}
{% macro unify_building_suffix(expr) -%}regexp_replace({{ expr }}, '([0-9]+)(幢|号楼)', '\1栋', 'g'){%- endmacro %}

{#- The structured address parts. `expr` is a prefix-stripped, numeral-converted, 栋-unified
    address. Core = road + number + compound (text before the building number). -#}
{% macro address_part(expr, part) -%}
{%- set pat = '^(.*?[^0-9])([0-9]+)栋(?:([0-9]+)单元)?([0-9]+)(?:室|号)?$' -%}
{%- set idx = {'core': 1, 'building': 2, 'unit': 3, 'room': 4}[part] -%}
nullif(regexp_extract({{ expr }}, '{{ pat }}', {{ idx }}), '')
{%- endmacro %}

{#- building / unit / room column of the housing registry → bare number text (3栋, 3号楼, 3幢,
    三栋 → 3; 2单元 → 2; blank → null) -#}
{% macro address_number(expr) -%}
{%- set e = "coalesce(" ~ expr ~ ", '')" -%}
nullif(regexp_extract(case when {{ onegrid.has_cn_address_number(e) }}
    then {{ onegrid.cn_numerals_to_arabic(e) }} else {{ e }} end, '([0-9]+)', 1), '')
{%- endmacro %}

{#- whether `expr` has an address number written in Chinese numerals (a numeral right before
    栋/幢/号楼/号/单元/室/层/楼): exactly the texts cn_numerals_to_arabic can change, so the
    (expensive) conversion can be skipped for all others -#}
{% macro has_cn_address_number(expr) -%}{{ return(adapter.dispatch('has_cn_address_number', 'onegrid')(expr)) }}{%- endmacro %}
{% macro duckdb__has_cn_address_number(expr) -%}
regexp_matches({{ expr }}, '[零〇一二两三四五六七八九十百千](栋|幢|号楼|号|单元|室|层|楼)')
{%- endmacro %}
{% macro default__has_cn_address_number(expr) -%}
({{ expr }} rlike '[零〇一二两三四五六七八九十百千](栋|幢|号楼|号|单元|室|层|楼)')
{%- endmacro %}

{#- the digit captured by `pat` in numeral run `t`, as an integer (`default` when absent) -#}
{% macro _cn_part(t, pat, default) -%}
coalesce(try_cast(nullif(translate(regexp_extract({{ t }}, '{{ pat }}', 1), '零〇一二两三四五六七八九', '001223456789'), '') as integer), {{ default }})
{%- endmacro %}

{#- all parts at once: struct(core, building, unit, room) of empty strings when not parsed -#}
{% macro address_parts(expr) -%}{{ return(adapter.dispatch('address_parts', 'onegrid')(expr)) }}{%- endmacro %}
{% macro duckdb__address_parts(expr) -%}
regexp_extract({{ expr }}, '^(.*?[^0-9])([0-9]+)栋(?:([0-9]+)单元)?([0-9]+)(?:室|号)?$', ['core', 'building', 'unit', 'room'])
{%- endmacro %}
{% macro default__address_parts(expr) -%}
named_struct(
  {%- for part in ['core', 'building', 'unit', 'room'] %}
  '{{ part }}', coalesce({{ onegrid.address_part(expr, part) }}, ''){{ ',' if not loop.last }}
  {%- endfor %})
{%- endmacro %}

{#- lookup key of a free-text place description for int_address_grid_lookup (see there);
    `districts` / `streets` are SQL list expressions of names to strip (e.g. from a cross join
    with `select list(distinct district_name) …` of int_grids_validated); null when the text
    has none of the three shapes. -#}
{% macro address_lookup_key(expr, districts, streets) -%}
{%- set a0 = "replace(" ~ expr ~ ", ' ', '')" -%}
{%- set hit = "list_filter(" ~ districts ~ ", d -> contains(" ~ a0 ~ ", d))" -%}
{%- set a1 = "(case when len(" ~ hit ~ ") > 0 then substr(" ~ a0 ~ ", list_max(list_transform(" ~ hit ~ ", d -> strpos(" ~ a0 ~ ", d) + length(d)))) else " ~ a0 ~ " end)" -%}
{%- set st = "regexp_extract(" ~ a1 ~ ", '^(.{1,12}?街道)', 1)" -%}
{%- set a2 = "(case when list_contains(" ~ streets ~ ", " ~ st ~ ") then substr(" ~ a1 ~ ", length(" ~ st ~ ") + 1) else " ~ a1 ~ " end)" -%}
{%- set a3 = onegrid.unify_building_suffix(onegrid.cn_numerals_to_arabic(a2)) -%}
(case
    when regexp_matches({{ a3 }}, '^.*[0-9]+号.*[^0-9][0-9]+栋$')
        then 'B|' || regexp_extract({{ a3 }}, '^(.*?[^0-9])([0-9]+)栋$', 1) || '|' || regexp_extract({{ a3 }}, '^(.*?[^0-9])([0-9]+)栋$', 2)
    when regexp_matches({{ a3 }}, '[0-9]+号.+(附近|周边|门口|旁)$')
        then 'C|' || regexp_extract({{ a3 }}, '^(.*?)(附近|周边|门口|旁)$', 1)
    when regexp_matches({{ a3 }}, '^[^0-9]+[0-9]+栋(旁|附近|周边|门口)?$')
        then 'N|' || regexp_extract({{ a3 }}, '^([^0-9]+)([0-9]+)栋', 1) || '|' || regexp_extract({{ a3 }}, '^([^0-9]+)([0-9]+)栋', 2)
end)
{%- endmacro %}
