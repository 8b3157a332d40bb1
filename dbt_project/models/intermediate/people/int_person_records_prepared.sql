-- Current person-like records of the household (户籍与实有人口) and party (党员) sources in one
-- shape, prepared for resolution (restricted zone: keeps the normalised id_number).
--   name_norm      name without spaces (bronze already folded Traditional/full-width and dots)
--   id_birth       birth date embedded in a usable identity number; id_male its sex digit
--   birth_eff      the record's birth date, else the one in its number
--   live_key       standardised address key of the 现住址 / 居住地址 (matched to a dwelling,
--                  house_key, in int_person_records_resolved)
--   live_h, reg_h  64-bit hashes of the standardised 现住址 / 居住地址 and 户籍地址 (also for
--                  addresses outside the city): the only form downstream models compare
-- Only the columns the resolution models read are kept (the raw texts are not: writing them
-- cost more than everything else in this model).
-- Incremental: a row depends only on its record, the standardised addresses and the base map's
-- county names, so a build prepares only the records of deliveries newer than the stored rows
-- of their source (_delivery_id: the delivery of the record's current version). Rows prepared
-- against other base-map names are deleted first (pre_hook), rows of records that are no longer
-- current afterwards (post_hook): the table always equals a full rebuild
-- (tests/test_dbt_incremental.py).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_record_key',
    on_schema_change='fail',
    pre_hook="{{ onegrid.person_prep_reset() }}",
    post_hook="{{ onegrid.person_prep_prune() }}"
) }}
with raw as (
    select * from {{ ref('int_person_records_base') }} r
    {%- if is_incremental() %}
    where {{ onegrid.newer_than_stored('r._delivery_id', 'r.source', 'source', '_delivery_id',
                                       reset_if=onegrid.person_prep_stale()) }}
    {%- endif %}
),
districts as (
    select district_name, min(district_code) as district_code
    from {{ ref('int_grids_validated') }} group by district_name
),
inputs_hash as (
    {{ onegrid.person_prep_inputs_hash() }}
)
select
    r.source,
    r.source_record_id,
    r._record_key,
    r.id_number,
    r.id_status,
    case when r.id_number is not null then r.id_hash end as id_hash,
    nullif(regexp_replace(r.name, '\s+', '', 'g'), '') as name_norm,
    r.gender,
    r.birth_date,
    r.ethnicity,
    r.household_key,
    r.relation,
    r.residency_status,
    nullif(regexp_replace(coalesce(r.phone, ''), '[^0-9]', '', 'g'), '') as phone_norm,
    try_strptime(substr(r.id_number, 7, 8), '%Y%m%d')::date as id_birth,
    case when r.id_number is not null then cast(substr(r.id_number, 17, 1) as integer) % 2 = 1 end as id_male,
    coalesce(r.birth_date, try_strptime(substr(r.id_number, 7, 8), '%Y%m%d')::date) as birth_eff,
    -- what the dwelling match needs (done in int_person_records_resolved, so this model does
    -- not wait for the housing records): the address key and the county its prefix names
    a.address_key as live_key,
    a.prefix_district is not null as live_has_prefix,
    dn.district_code as live_district_code,
    -- the county the 户籍地址 prefix names: evidence for a prefix-less 现住址 whose road, number
    -- and compound exist in more than one county (int_person_records_resolved)
    dr.district_code as reg_district_code,
    -- 64-bit hashes of the standardised addresses / household: cheap join and compare keys
    -- (std_h = hash(address_std), computed once per distinct text). A missing address or
    -- household stays NULL: hash(NULL) is a constant, which made any two records without
    -- one look as if they shared it.
    a.std_h as live_h,
    ra.std_h as reg_h,
    case when r.household_key is not null then hash(r.household_key) end as household_h,
    r._delivery_id,
    (select inputs_hash from inputs_hash) as _inputs_hash,
    -- when this row was (re)prepared: int_person_id_clusters judges again the numbers of rows
    -- newer than its own
    {{ onegrid.build_stamp() }} as _prepared_at
from raw r
left join {{ ref('int_addresses_standardised') }} a on a.address_raw = r.live_address
left join districts dn on dn.district_name = a.prefix_district
left join {{ ref('int_addresses_standardised') }} ra on ra.address_raw = r.registered_address
left join districts dr on dr.district_name = ra.prefix_district
