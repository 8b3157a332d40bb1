{#- Schemas are exactly the custom schema names (staging, intermediate, marts,
    marts_restricted), never prefixed with the target schema: the publisher publishes every
    table in schemas marts and marts_restricted. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
