-- Every current person-like record (int_person_records_prepared) placed in its dwelling and
-- given the outcome of the identity-number stage (int_person_id_clusters): the input of the
-- probabilistic stage in int_person_records_resolved, which reads it several times (as a table
-- each read is a column scan; as a CTE of that model DuckDB copied all of it on every read:
-- 6 to 11 s a read at 10M residents).
-- house_key: the dwelling whose standardised address key (live_key) and county equal those of the
-- 现住址 / 居住地址. A 现住址 without a county prefix takes the key's dwelling when the key names one
-- dwelling in the city; when it names dwellings in several counties (the same road, number and
-- compound in two counties) the county with the most evidence wins (the record's number owns
-- the dwelling, its 户籍地址 names the county, its household's addresses name it, its number was
-- issued there), and a tie or no evidence leaves it without a dwelling.
-- Incremental: a row depends on its prepared record, its identity-number stage row, the
-- dwellings (int_house_records_resolved) and, for an ambiguous prefix-less address, the other
-- records of its household. A build places again the records prepared or clustered since its
-- last build (_built_at), the ambiguous records of their households (before and after), and
-- writes tombstones for records that left (deleted by the post_hook). When the dwellings were
-- rebuilt (their _inputs_mark changed) the pre_hook empties the table and every record is placed
-- again. The table always equals a full rebuild (tests/test_dbt_incremental.py).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_record_key',
    on_schema_change='fail',
    pre_hook="{{ onegrid.inputs_mark_reset(onegrid.dwellings_inputs_mark()) }}",
    post_hook="{{ onegrid.delete_if_incremental('source is null') }}"
) }}
with
{%- if is_incremental() %}
{%- set since = onegrid.last_built(survives=onegrid.inputs_mark_kept(onegrid.dwellings_inputs_mark())) %}
changed as (
    select _record_key from {{ ref('int_person_records_prepared') }}
    where _prepared_at > {{ since }}
    union
    select _record_key from {{ ref('int_person_id_clusters') }}
    where _built_at > {{ since }}
),
gone as (
    select t._record_key, t.household_h
    from {{ this }} t
    left join (select _record_key from {{ ref('int_person_records_prepared') }}) p
      on p._record_key = t._record_key
    where p._record_key is null
),
touched_households as (
    -- households whose county evidence may have changed: of changed records, now and before
    select household_h from {{ ref('int_person_records_prepared') }}
    where _record_key in (select _record_key from changed) and household_h is not null
    union
    select household_h from {{ this }}
    where _record_key in (select _record_key from changed) and household_h is not null
    union
    select household_h from gone where household_h is not null
),
prepared as (
    select * from {{ ref('int_person_records_prepared') }}
    where _record_key in (select _record_key from changed)
       or (household_h in (select household_h from touched_households) and not live_has_prefix)
),
{%- endif %}
{#- a full build reads the table itself (a CTE read twice may be materialised) #}
{%- set prepared = 'prepared' if is_incremental() else ref('int_person_records_prepared') %}
dwellings as (
    -- a dwelling by county + standardised address key (a house_key lies in one county, so
    -- the counts per county add up to the count per key)
    select district_code, address_key, min(house_key) as house_key,
           count(distinct house_key) as dwellings_in_county
    from {{ ref('int_house_records_resolved') }}
    where address_key is not null
    {%- if is_incremental() %}
      and address_key in (select live_key from {{ prepared }})
    {%- endif %}
    group by district_code, address_key
),
address_keys as (
    select address_key, sum(dwellings_in_county) as dwellings, min(house_key) as house_key
    from dwellings
    group by address_key
),
dwellings_any_county as (
    -- for addresses without a county prefix: only keys that name one dwelling in the city
    select address_key, house_key from address_keys where dwellings = 1
),
ambiguous_keys as (
    -- keys naming dwellings in more than one county (the same road, number and compound exist
    -- in two counties): a prefix-less address needs other evidence to pick one
    select address_key from address_keys where dwellings > 1
),
ambiguous_dwellings as (
    -- the candidates: one dwelling per county and key
    select d.address_key, d.district_code, d.house_key
    from dwellings d
    join ambiguous_keys k on k.address_key = d.address_key
    where d.dwellings_in_county = 1
),
ambiguous_records as (
    select p._record_key, p.live_key, p.id_hash, p.id_number, p.household_h, p.reg_district_code,
           p.residency_status
    from {{ prepared }} p
    join ambiguous_keys k on k.address_key = p.live_key
    where not p.live_has_prefix
),
household_counties as (
    -- the counties that the address prefixes of a household's records name (现住址 and 户籍地址),
    -- as a share of those mentions
    select household_h, district_code,
           cast(count(*) as double) / sum(count(*)) over (partition by household_h) as share
    from (
        select q.household_h, q.live_district_code as district_code
        from {{ ref('int_person_records_prepared') }} q
        where q.live_district_code is not null
          and q.household_h in (select household_h from ambiguous_records)
        union all
        select q.household_h, q.reg_district_code
        from {{ ref('int_person_records_prepared') }} q
        where q.reg_district_code is not null
          and q.household_h in (select household_h from ambiguous_records)
    ) x
    group by household_h, district_code
),
ambiguous_scored as (
    -- evidence for each candidate county: the record's identity number owns the dwelling (16);
    -- its 户籍地址 names the county and it lives at its registration (8) or not (2); its
    -- household's addresses name it (4 × share); its identity number was issued there (1)
    select
        a._record_key,
        d.house_key,
        (case when o.house_key is not null then 16 else 0 end)
        + (case when d.district_code = a.reg_district_code
                then case when a.residency_status = '人户一致' then 8 else 2 end else 0 end)
        + 4 * coalesce(hc.share, 0)
        + (case when left(a.id_number, 6) = d.district_code then 1 else 0 end) as score
    from ambiguous_records a
    join ambiguous_dwellings d on d.address_key = a.live_key
    left join (
        select distinct house_key, owner_id_hash from {{ ref('int_house_records_resolved') }}
        where owner_id_hash is not null
    ) o on o.house_key = d.house_key and o.owner_id_hash = a.id_hash
    left join household_counties hc on hc.household_h = a.household_h and hc.district_code = d.district_code
),
ambiguous_resolved as (
    -- the best-supported candidate, when there is evidence and no tie
    select _record_key, house_key from (
        select *,
               row_number() over (partition by _record_key order by score desc, house_key) as rk,
               count(*) over (partition by _record_key, score) as tied
        from ambiguous_scored
        where score > 0
    ) x
    where rk = 1 and tied = 1
)
select
    -- what int_person_records_resolved reads, no more
    p.source,
    p.source_record_id,
    p._record_key,
    p.id_number,
    p.id_status,
    p.id_hash,
    p.name_norm,
    p.gender,
    p.birth_eff,
    p.ethnicity,
    p.household_key,
    p.relation,
    p.residency_status,
    p.phone_norm,
    p.live_h,
    p.reg_h,
    p.household_h,
    -- house_key: the dwelling whose standardised address key equals the 现住址 / 居住地址
    case when p.live_has_prefix then d.house_key else coalesce(da.house_key, ar.house_key) end as house_key,
    c.id_accepted,
    c.root_id_hash,
    c.is_repaired,
    c.name_is_anchor,
    h._inputs_mark,
    {{ onegrid.build_stamp() }} as _built_at
from {{ prepared }} p
cross join ({{ onegrid.dwellings_inputs_mark() }}) h
left join dwellings d on d.address_key = p.live_key and d.district_code = p.live_district_code
left join dwellings_any_county da on da.address_key = p.live_key
left join ambiguous_resolved ar on ar._record_key = p._record_key
left join {{ ref('int_person_id_clusters') }} c
  on c._record_key = p._record_key  -- keyed hash of source, table and record id
{%- if is_incremental() %}
where p._record_key in (select _record_key from changed)
   or p._record_key in (select _record_key from ambiguous_records)
union all
-- tombstones of the records that left (deleted by the post_hook)
select null, null, g._record_key, null, null, null, null, null, null, null, null, null, null,
       null, null, null, null, null, null, null, null, null, null, null
from gone g
{%- endif %}
