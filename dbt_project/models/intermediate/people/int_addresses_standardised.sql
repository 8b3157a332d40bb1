{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ onegrid.address_std_reset() }}",
    post_hook="{{ onegrid.address_std_prune() }}"
) }}
-- Standardised addresses (地址标准化): one row per distinct address text seen in the household
-- (现住址, 户籍地址), party (居住地址) and housing (地址) records.
-- Steps: spaces removed; everything up to the county-level division name (区县, from the grid
-- base map) dropped, which removes 省/市/州 prefixes in all their forms; then a leading 街道 or
-- 社区 name; Chinese numerals of address numbers → Arabic; 幢/号楼 → 栋; parsed into core
-- (road + number + compound), building, unit, room. A missing 单元 is unit 1 (the contract
-- leaves 单元 out only for single-unit buildings); a missing 室 is the same room.
-- address_key (core|building|unit|room) is what dwellings and people are matched on.
-- Every step runs once per raw text in one pass (deduplicating the prefix-free texts and joining
-- back cost more than it saved); regular expressions run only on texts that contain their
-- literal words. Only the columns other models read (and the small parsed parts) are written: the
-- intermediate texts (prefix-stripped text, road) cost more to store than to recompute.
-- Incremental: standardising a text depends only on the text and on the base map's division
-- names, so a build standardises only the texts it has not seen (a delta: a few thousand).
-- Each row keeps the newest delivery of each source when it was written (_seen_household,
-- _seen_party, _seen_housing): a build reads only the texts of records delivered after those
-- (every text of an older record is stored already) and drops the ones stored.
-- _built_at marks the rows a build wrote: the unique test checks those (onegrid.unique_in_build).
-- A base map with other names (base_map_names changes) empties the model first (pre_hook);
-- texts that no record uses any more are deleted afterwards (post_hook): the table always
-- equals a full rebuild (tests/test_dbt_incremental.py).
with
sources_seen as (
    {{ onegrid.address_sources_seen() }}
),
{%- if is_incremental() %}
stored_seen as (
    select coalesce(max(_seen_household), '') as household,
           coalesce(max(_seen_party), '') as party,
           coalesce(max(_seen_housing), '') as housing
    from {{ this }}
),
candidate_texts as (
    {{ onegrid.address_texts_since('stored_seen') }}
),
texts as (
    -- the semi-join reads the stored texts without building a table of all of them
    select c.address_raw
    from candidate_texts c
    left join (
        select address_raw from {{ this }}
        where address_raw in (select address_raw from candidate_texts)
    ) t on t.address_raw = c.address_raw
    where t.address_raw is null
),
{%- else %}
texts as (
    {{ onegrid.address_texts() }}
),
{%- endif %}
names as (
    select
        list(distinct district_name) filter (where district_name is not null) as districts,
        list(distinct street_name) filter (where street_name is not null) as streets,
        list(distinct community_name) filter (where community_name is not null) as communities
    from {{ ref('int_grids_validated') }}
),
names_hash as (
    {{ onegrid.base_map_names_hash() }}
),
compact as (
    select
        address_raw,
        case when {{ onegrid.contains_text('address_raw', "' '") }} or {{ onegrid.contains_text('address_raw', 'chr(12288)') }}
             then replace(replace(address_raw, ' ', ''), chr(12288), '') else address_raw end as a
    from texts
    where address_raw is not null and trim(address_raw) <> ''
),
district_cut as (
    -- the last county-level name occurring in the text (a city prefix may itself end in 市)
    select
        c.address_raw,
        c.a,
        list_filter(n.districts, d -> contains(c.a, d)) as hit
    from compact c cross join names n
),
stripped as (
    select
        address_raw,
        len(hit) > 0 as has_division_prefix,
        -- the county-level division the prefix names (the last one in the text)
        case when len(hit) > 0 then substr(list_max(list_transform(hit,
            d -> lpad(cast(strpos(a, d) + length(d) as varchar), 4, '0') || d)), 5) end as prefix_district,
        case when len(hit) > 0
             then substr(a, list_max(list_transform(hit, d -> strpos(a, d) + length(d))))
             else a end as s1
    from district_cut
),
stripped2 as (
    -- a leading 街道 name, then a leading 社区 name, when they are names of the base map (the
    -- regular expressions only run on texts that contain the word at all)
    select
        address_raw, has_division_prefix, prefix_district, s1, st_name,
        case when list_contains(n.streets, st_name) then substr(s1, length(st_name) + 1) else s1 end as s2,
        n.communities
    from (
        select *, case when {{ onegrid.contains_text('s1', "'街道'") }} then regexp_extract(s1, '^(.{1,12}?街道)', 1) end as st_name
        from stripped
    ) x cross join names n
),
stripped3 as (
    select
        address_raw, has_division_prefix, prefix_district,
        case when list_contains(communities, co_name) then substr(s2, length(co_name) + 1) else s2 end as s3
    from (
        select *, case when {{ onegrid.contains_text('s2', "'社区'") }} then regexp_extract(s2, '^(.{1,12}?社区)', 1) end as co_name
        from stripped2
    ) x
),
numerals as (
    -- Chinese numerals only where an address number is written with them. A city has a few
    -- dozen distinct numeral tokens (三栋, 五零二室, …): each is converted once (numeral_values)
    -- and put in place by position; texts with more than one token take the general conversion.
    select
        address_raw, has_division_prefix, prefix_district, s3,
        case when {{ onegrid.has_cn_address_number('s3') }}
             then regexp_extract_all(s3, '[零〇一二两三四五六七八九十百千]+(?:栋|幢|号楼|号|单元|室|层|楼)') end as num_tokens
    from stripped3
),
numeral_values as (
    select tok, {{ onegrid.cn_numerals_to_arabic('tok') }} as val
    from (select distinct unnest(num_tokens) as tok from numerals where num_tokens is not null) t
),
numerals_converted as (
    select
        n.address_raw, n.has_division_prefix, n.prefix_district,
        case when n.num_tokens is null then n.s3
             when len(n.num_tokens) = 1
             then substr(n.s3, 1, strpos(n.s3, n.num_tokens[1]) - 1) || v.val
                  || substr(n.s3, strpos(n.s3, n.num_tokens[1]) + length(n.num_tokens[1]))
             else {{ onegrid.cn_numerals_to_arabic('n.s3') }} end as s4
    from numerals n
    left join numeral_values v on v.tok = n.num_tokens[1]
),
converted as (
    select
        address_raw, has_division_prefix, prefix_district,
        case when {{ onegrid.contains_text('s4', "'幢'") }} or {{ onegrid.contains_text('s4', "'号楼'") }}
             then {{ onegrid.unify_building_suffix('s4') }} else s4 end as s
    from numerals_converted
),
parsed_struct as (
    select *, {{ onegrid.address_parts('s') }} as p
    from converted
),
parsed as (
    select
        address_raw, has_division_prefix, prefix_district,
        s as address_stripped,
        nullif(p.core, '') as core,
        nullif(p.building, '') as building,
        nullif(p.unit, '') as unit_raw,
        nullif(p.room, '') as room
    from parsed_struct
),
roads as (
    -- road = the core up to its first number + 号; compound = the rest (else the whole core)
    select *, nullif(case when {{ onegrid.contains_text('core', "'号'") }} then regexp_extract(core, '^(.*?[0-9]+号)', 1) end, '') as road
    from parsed
),
s as (
    select
        address_raw, has_division_prefix, prefix_district,
        address_stripped,
        core is not null as is_parsed,
        core,
        road,
        coalesce(nullif(case when road is not null then substr(core, length(road) + 1) else core end, ''), core) as compound,
        cast(try_cast(building as integer) as varchar) as building,
        cast(try_cast(unit_raw as integer) as varchar) as unit_given,
        coalesce(cast(try_cast(unit_raw as integer) as varchar), case when core is not null then '1' end) as unit,
        cast(try_cast(room as integer) as varchar) as room
    from roads
),
standard as (
    select
        *,
        case when is_parsed then core || building || '栋' || unit || '单元' || room || '室'
             else regexp_replace(address_stripped, '室$', '') end as address_std
    from s
)
select
    address_raw,
    has_division_prefix,
    prefix_district,
    is_parsed,
    core,
    compound,
    building,
    unit_given,
    unit,
    room,
    address_std,
    case when is_parsed then core || '|' || building || '|' || unit || '|' || room end as address_key,
    -- 64-bit hash of address_std: what person records compare and join on
    hash(address_std) as std_h,
    (select names_hash from names_hash) as base_map_names,
    (select household from sources_seen) as _seen_household,
    (select party from sources_seen) as _seen_party,
    (select housing from sources_seen) as _seen_housing,
    {{ onegrid.build_stamp() }} as _built_at
from standard
