{#
  Connected components by min-label propagation, as a chain of CTEs <prefix>1 … <prefix><rounds>
  following a CTE <prefix>0 (columns <key>, <label>). <edges> is a relation with columns a, b
  holding every edge in both directions. After n rounds each node carries the smallest label
  within n hops, so components of diameter ≤ rounds are labelled completely. Emits a leading
  comma: call it right after the closing parenthesis of <prefix>0.
#}
{% macro min_label_rounds(prefix, edges, key, label, rounds) -%}
{%- for i in range(1, rounds + 1) %},
{{ prefix }}{{ i }} as (
    select x.{{ key }}, least(x.{{ label }}, coalesce(min(y.{{ label }}), x.{{ label }})) as {{ label }}
    from {{ prefix }}{{ i - 1 }} x
    left join {{ edges }} on {{ edges }}.a = x.{{ key }}
    left join {{ prefix }}{{ i - 1 }} y on y.{{ key }} = {{ edges }}.b
    group by x.{{ key }}, x.{{ label }}
)
{%- endfor %}
{%- endmacro %}
