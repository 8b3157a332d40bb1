{#-
  Name comparison for person resolution (adapter-dispatched; duckdb__ runs, default__ is
  written for Spark SQL and untested).

  names_compatible(a, b, py_a, py_b): the two normalised names are equal, or have the same
  length and every position shares a toneless pinyin reading (homophone typos such as 伟/玮,
  polyphonic surnames such as 单 dan/shan). py_* are list<list<varchar>> from int_name_pinyin.
-#}
{% macro names_compatible(a, b, py_a, py_b) -%}{{ return(adapter.dispatch('names_compatible', 'onegrid')(a, b, py_a, py_b)) }}{%- endmacro %}

{% macro duckdb__names_compatible(a, b, py_a, py_b) -%}
coalesce({{ a }} = {{ b }}
  or (len({{ py_a }}) = len({{ py_b }})
      and list_bool_and(list_transform({{ py_a }}, (x, i) -> len(list_intersect(x, {{ py_b }}[i])) > 0))), false)
{%- endmacro %}

{% macro default__names_compatible(a, b, py_a, py_b) -%}
coalesce({{ a }} = {{ b }}
  or (size({{ py_a }}) = size({{ py_b }})
      and aggregate(zip_with({{ py_a }}, {{ py_b }}, (x, y) -> size(array_intersect(x, y)) > 0), true, (acc, v) -> acc and v)), false)
{%- endmacro %}

{#- the first 17 digits of two normalised numbers differ in exactly one digit or by one
    adjacent transposition (a mistyped number whose check character was recomputed) -#}
{% macro id_one_edit_apart(a, b) -%}{{ return(adapter.dispatch('id_one_edit_apart', 'onegrid')(a, b)) }}{%- endmacro %}

{% macro duckdb__id_one_edit_apart(a, b) -%}
(hamming(substr({{ a }}, 1, 17), substr({{ b }}, 1, 17)) = 1
 or (hamming(substr({{ a }}, 1, 17), substr({{ b }}, 1, 17)) = 2
     and damerau_levenshtein(substr({{ a }}, 1, 17), substr({{ b }}, 1, 17)) = 1))
{%- endmacro %}

{% macro default__id_one_edit_apart(a, b) -%}
(levenshtein(substr({{ a }}, 1, 17), substr({{ b }}, 1, 17)) = 1
 and length({{ a }}) = length({{ b }}))
{%- endmacro %}

{#- Fellegi–Sunter style match weight (log2 odds) of a candidate pair of person records that
    already agree on birth date and gender (the blocking). The m/u odds are set by hand from
    the error rates the departments' data show (documented in _people.yml):
      prior (two people born the same day, same sex, in one city)        -12
      name equal +10, or homophone-compatible +7, or one character apart +4
      (a look-alike typo such as 若/诺: alone with one shared address it stays below 0)
      same dwelling or same standardised 现住址/居住地址                    +7
      same household (户号)                                             +5
      same registered address (户籍地址)                                  +3
      same phone                                                        +10
      ethnicity differs                                                 -8
      same household under another relation (户主 and 子, 女 and 孙女):
      two members of one household, not one person registered twice    -12
-#}
{% macro person_pair_weight(name_equal, name_compat, name_close, same_address, same_household, same_reg, same_phone, eth_differs, role_differs) -%}
(-12
 + case when {{ name_equal }} then 10 when {{ name_compat }} then 7 when {{ name_close }} then 4 else 0 end
 + case when {{ same_address }} then 7 else 0 end
 + case when {{ same_household }} then 5 else 0 end
 + case when {{ same_reg }} then 3 else 0 end
 + case when {{ same_phone }} then 10 else 0 end
 + case when {{ eth_differs }} then -8 else 0 end
 + case when {{ role_differs }} then -12 else 0 end)
{%- endmacro %}

{#- same length, same first character (surname), exactly one other character different -#}
{% macro names_one_char_apart(a, b) -%}{{ return(adapter.dispatch('names_one_char_apart', 'onegrid')(a, b)) }}{%- endmacro %}

{% macro duckdb__names_one_char_apart(a, b) -%}
coalesce(length({{ a }}) = length({{ b }}) and length({{ a }}) >= 2
  and substr({{ a }}, 1, 1) = substr({{ b }}, 1, 1)
  and len(list_filter(range(2, length({{ a }}) + 1), i -> substr({{ a }}, i, 1) <> substr({{ b }}, i, 1))) = 1, false)
{%- endmacro %}

{% macro default__names_one_char_apart(a, b) -%}
coalesce(length({{ a }}) = length({{ b }}) and length({{ a }}) >= 2
  and substr({{ a }}, 1, 1) = substr({{ b }}, 1, 1)
  and size(filter(sequence(2, length({{ a }})), i -> substr({{ a }}, i, 1) <> substr({{ b }}, i, 1))) = 1, false)
{%- endmacro %}

{#- Toneless pinyin of the distinct names that `names_sql` (a query with one column name_norm)
    yields: (name_norm, py), py = one list of readings per character (the character itself
    when it has none), from `chars_relation` (int_name_pinyin). Computed only for the names a
    model actually compares (a few thousand), not for every name of the city. -#}
{% macro names_pinyin(names_sql, chars_relation) -%}{{ return(adapter.dispatch('names_pinyin', 'onegrid')(names_sql, chars_relation)) }}{%- endmacro %}

{% macro duckdb__names_pinyin(names_sql, chars_relation) -%}
select c.name_norm, list(coalesce(p.readings, [substr(c.name_norm, c.pos, 1)]) order by c.pos) as py
from (
    select name_norm, unnest(range(1, length(name_norm) + 1)) as pos
    from (select distinct name_norm from ({{ names_sql }}) nm where name_norm is not null) n
) c
left join {{ chars_relation }} p on p.ch = substr(c.name_norm, c.pos, 1)
group by c.name_norm
{%- endmacro %}

{% macro default__names_pinyin(names_sql, chars_relation) -%}
select c.name_norm,
    transform(array_sort(collect_list(named_struct('pos', c.pos, 'r', coalesce(p.readings, array(substr(c.name_norm, c.pos, 1)))))), x -> x.r) as py
from (
    select name_norm, explode(sequence(1, length(name_norm))) as pos
    from (select distinct name_norm from ({{ names_sql }}) nm where name_norm is not null) n
) c
left join {{ chars_relation }} p on p.ch = substr(c.name_norm, c.pos, 1)
group by c.name_norm
{%- endmacro %}
