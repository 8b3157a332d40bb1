{#-
  Incremental standardisation of address texts (int_addresses_standardised).

  address_texts(distinct=true): every address text the current records use: 现住址 and 户籍地址
    of household persons, 居住地址 of party members, 地址 of dwellings (distinct=false: with
    repeats, for a membership test, which then needs no deduplication of millions of texts).
  address_texts_since(seen), address_sources_seen(): the same for the records of deliveries newer
    than those a build read (its rows keep the newest delivery of each source: _seen_*).
  base_map_names_hash(): one row, one column (names_hash): a hash of the base map's county,
    street and community names, the only input of standardisation besides the text.
  address_std_reset(): pre_hook; empties the model when the base map's names changed since
    any of its rows was standardised.
  address_std_prune(): post_hook; deletes the texts no current record uses any more.

  Incremental preparation of person records (int_person_records_prepared):
  person_prep_inputs_hash(): one row, one column (inputs_hash): the base map's names and the
    county name → code pairs, the only inputs of a prepared row besides its record (and the
    standardised addresses, which depend on the same names).
  person_prep_stale(): the condition on a stored row prepared against other inputs.
  person_prep_reset(): pre_hook; empties the model when those inputs changed.
  person_prep_prune(): post_hook; deletes the rows of records that are no longer current.
-#}
{#- The current-state views (int_*_records_latest: versions not ended) written out over the
    versions tables: int_addresses_standardised then waits for the versions only, not for the
    views (at qianxinan dbt started it about 2 s after the person versions were built). -#}
{#- distinct: one DISTINCT over all four (chained UNIONs grouped the texts twice: qianxinan
    statement 4.67 → 4.47 s alone) -#}
{% macro address_texts(distinct=true) -%}
    {%- if distinct %}
    select distinct address_raw from (
    {%- endif %}
    select current_address as address_raw from {{ ref('int_person_record_versions') }}
    where not _is_ended
    union all
    select registered_address from {{ ref('int_person_record_versions') }} where not _is_ended
    union all
    select home_address from {{ ref('int_member_record_versions') }} where not _is_ended
    union all
    select address from {{ ref('int_house_record_versions') }} where not _is_ended
    {%- if distinct %}
    ) all_texts
    {%- endif %}
{%- endmacro %}

{#- the address texts of the records whose current version came with a delivery newer than
    `seen` (a relation with one row: household, party, housing — the newest delivery of each
    source whose texts a build of int_addresses_standardised has read) -#}
{% macro address_texts_since(seen) -%}
    select current_address as address_raw from {{ ref('int_person_record_versions') }}
    where not _is_ended and _delivery_id > (select household from {{ seen }})
    union
    select registered_address from {{ ref('int_person_record_versions') }}
    where not _is_ended and _delivery_id > (select household from {{ seen }})
    union
    select home_address from {{ ref('int_member_record_versions') }}
    where not _is_ended and _delivery_id > (select party from {{ seen }})
    union
    select address from {{ ref('int_house_record_versions') }}
    where not _is_ended and _delivery_id > (select housing from {{ seen }})
{%- endmacro %}

{#- one row: the newest delivery of each source among its current records -#}
{% macro address_sources_seen() -%}
    select
        (select coalesce(max(_delivery_id), '') from {{ ref('int_person_record_versions') }}
         where not _is_ended) as household,
        (select coalesce(max(_delivery_id), '') from {{ ref('int_member_record_versions') }}
         where not _is_ended) as party,
        (select coalesce(max(_delivery_id), '') from {{ ref('int_house_record_versions') }}
         where not _is_ended) as housing
{%- endmacro %}

{% macro base_map_names_hash() -%}
    select md5({{ dbt.listagg("n", "'|'", "order by n") }}) as names_hash
    from (
        select distinct {{ dbt.concat(["'d:'", "district_name"]) }} as n
        from {{ ref('int_grids_validated') }} where district_name is not null
        union all
        select distinct {{ dbt.concat(["'s:'", "street_name"]) }}
        from {{ ref('int_grids_validated') }} where street_name is not null
        union all
        select distinct {{ dbt.concat(["'c:'", "community_name"]) }}
        from {{ ref('int_grids_validated') }} where community_name is not null
    ) names
{%- endmacro %}

{% macro address_std_reset() -%}
{#- all rows: the texts of the deleted rows must be read again, and a build reads only the
    texts of records delivered after those its stored rows saw -#}
{{ onegrid.delete_if_incremental(
    "exists (select 1 from " ~ this ~ " where base_map_names is distinct from ("
    ~ onegrid.base_map_names_hash() ~ "))") }}
{%- endmacro %}

{% macro address_std_prune() -%}
{#- texts with repeats: qianxinan 0.33 s instead of 0.97 s with the deduplicating union -#}
{{ onegrid.delete_if_incremental(
    "address_raw not in (select address_raw from (" ~ onegrid.address_texts(distinct=false) ~ ") t
                          where address_raw is not null)") }}
{%- endmacro %}

{% macro person_prep_inputs_hash() -%}
    select md5({{ dbt.concat(["(" ~ onegrid.base_map_names_hash() ~ ")", "'|'",
                              dbt.listagg("n", "'|'", "order by n")]) }}) as inputs_hash
    from (
        select distinct {{ dbt.concat(["district_name", "':'", "district_code"]) }} as n
        from {{ ref('int_grids_validated') }}
        where district_name is not null and district_code is not null
    ) codes
{%- endmacro %}

{#- a stored row prepared against other inputs (then every row is prepared again) -#}
{% macro person_prep_stale() -%}
_inputs_hash is distinct from ({{ onegrid.person_prep_inputs_hash() }})
{%- endmacro %}

{% macro person_prep_reset() -%}
{{ onegrid.delete_if_incremental(
    "exists (select 1 from " ~ this ~ " where " ~ onegrid.person_prep_stale() ~ ")") }}
{%- endmacro %}

{% macro person_prep_prune() -%}
{{ onegrid.delete_if_incremental(
    "_record_key not in (select _record_key from " ~ ref('int_person_records_base') ~ ")") }}
{%- endmacro %}

{#- A hook's `delete from this where <condition>` on an incremental build; a no-op statement on a
    full build (the table is created afterwards). -#}
{% macro delete_if_incremental(condition) -%}
{%- if is_incremental() -%}
delete from {{ this }} where {{ condition }}
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}
