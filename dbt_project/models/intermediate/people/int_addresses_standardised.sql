-- Standardised addresses (地址标准化): one row per distinct address text seen in the household
-- (现住址, 户籍地址), party (居住地址) and housing (地址) records.
-- Steps: spaces removed; everything up to the county-level division name (区县, from the grid
-- base map) dropped, which removes 省/市/州 prefixes in all their forms; then a leading 街道 or
-- 社区 name; Chinese numerals of address numbers → Arabic; 幢/号楼 → 栋; parsed into core
-- (road + number + compound), building, unit, room. A missing 单元 is unit 1 (the contract
-- leaves 单元 out only for single-unit buildings); a missing 室 is the same room.
-- address_key (core|building|unit|room) is what dwellings and people are matched on.
with texts as (
    select live_address as address_raw from {{ ref('int_person_records_base') }}
    union
    select registered_address from {{ ref('int_person_records_base') }}
    union
    select address from {{ ref('int_house_records_latest') }}
),
names as (
    select
        list(distinct district_name) filter (where district_name is not null) as districts,
        list(distinct street_name) filter (where street_name is not null) as streets,
        list(distinct community_name) filter (where community_name is not null) as communities
    from {{ ref('int_grids_validated') }}
),
compact as (
    select address_raw, replace(replace(address_raw, ' ', ''), chr(12288), '') as a
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
prefix_free as (
    -- the heavier steps run once per distinct prefix-free text
    select d.s1, n.streets, n.communities
    from (select distinct s1 from stripped) d cross join names n
),
stripped2 as (
    -- a leading 街道 name, then a leading 社区 name, when they are names of the base map
    select
        s1,
        case when list_contains(streets, regexp_extract(s1, '^(.{1,12}?街道)', 1))
             then substr(s1, length(regexp_extract(s1, '^(.{1,12}?街道)', 1)) + 1) else s1 end as s2,
        communities
    from prefix_free
),
stripped3 as (
    select
        s1,
        case when list_contains(communities, regexp_extract(s2, '^(.{1,12}?社区)', 1))
             then substr(s2, length(regexp_extract(s2, '^(.{1,12}?社区)', 1)) + 1) else s2 end as s3
    from stripped2
),
numerals as (
    -- Chinese numerals only where an address number is written with them (the list work is
    -- the expensive part, so it runs on that subset only)
    select s1, {{ onegrid.cn_numerals_to_arabic('s3') }} as s4
    from stripped3
    where regexp_matches(s3, '[零〇一二两三四五六七八九十百千](栋|幢|号楼|号|单元|室|层|楼)')
    union all
    select s1, s3
    from stripped3
    where not regexp_matches(s3, '[零〇一二两三四五六七八九十百千](栋|幢|号楼|号|单元|室|层|楼)')
),
converted as (
    select s1, {{ onegrid.unify_building_suffix('s4') }} as s
    from numerals
),
parsed_struct as (
    select s1, s, {{ onegrid.address_parts('s') }} as p
    from converted
),
parsed as (
    select
        s1,
        s as address_stripped,
        nullif(p.core, '') as core,
        nullif(p.building, '') as building,
        nullif(p.unit, '') as unit_raw,
        nullif(p.room, '') as room
    from parsed_struct
),
standard as (
    select
        s1,
        address_stripped,
        core is not null as is_parsed,
        core,
        nullif(regexp_extract(core, '^(.*?[0-9]+号)', 1), '') as road,
        coalesce(nullif(regexp_replace(core, '^.*?[0-9]+号', ''), ''), core) as compound,
        cast(try_cast(building as integer) as varchar) as building,
        cast(try_cast(unit_raw as integer) as varchar) as unit_given,
        coalesce(cast(try_cast(unit_raw as integer) as varchar), case when core is not null then '1' end) as unit,
        cast(try_cast(room as integer) as varchar) as room
    from parsed
)
select
    st.address_raw,
    s.address_stripped,
    st.has_division_prefix,
    st.prefix_district,
    s.is_parsed,
    s.core,
    s.road,
    s.compound,
    s.building,
    s.unit_given,
    s.unit,
    s.room,
    case when s.is_parsed then s.core || s.building || '栋' || s.unit || '单元' || s.room || '室'
         else regexp_replace(s.address_stripped, '室$', '') end as address_std,
    case when s.is_parsed then s.core || '|' || s.building || '|' || s.unit || '|' || s.room end as address_key
from stripped st
join standard s on s.s1 = st.s1
