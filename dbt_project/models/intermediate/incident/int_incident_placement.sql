-- Places every current event on a unified grid, first rule that applies:
--   point_in_grid  the WGS-84 point (GCJ-02 already converted in bronze) lies in a grid polygon;
--   legacy_grid    the legacy code (原网格编码) resolves by (体系, 编码) through 多网合一;
--   address        the address names a compound (小区; names repeat, so the candidate that also
--                  matches the road and number, county, street, community wins): the grid of
--                  the named building there, else the grid most of its dwellings lie in; else
--                  the dwellings the address names (int_incident_address_grids) lie in one grid,
--                  or at least var('address_min_share', 0.6) of them do;
--   unresolved     none of these.
with ev as (
    select record_id, lon_wgs84, lat_wgs84, legacy_system, legacy_code, address,
           {{ onegrid.normalise_address('address') }} as address_norm
    from {{ ref('int_event_records_latest') }}
),
by_point as (
    {{ onegrid.place_points_on_grids(
        "(select record_id, lon_wgs84, lat_wgs84 from ev where lon_wgs84 is not null)",
        'record_id', 'lon_wgs84', 'lat_wgs84') }}
),
by_legacy as (
    select ev.record_id, l.grid_code
    from ev
    join {{ ref('int_legacy_grids_resolved') }} l
      on l.legacy_system = ev.legacy_system and l.legacy_code = ev.legacy_code
    where l.grid_code is not null
),
dwellings as (
    -- current housing records with the grid ER placed them on (point in polygon)
    select h.record_id, h.district_name, h.street_name, h.community_name, h.compound,
           h.building, r.grid_code,
           {{ onegrid.road_number('h.address') }} as road_no
    from {{ ref('int_house_records_latest') }} h
    join {{ ref('int_house_records_resolved') }} r
      on r.source = 'housing' and r.source_record_id = h.record_id
    where r.grid_code is not null and h.compound is not null and length(h.compound) >= 2
),
compounds as (
    -- one compound = (county, street, community, name): compound names repeat across the city
    select district_name, street_name, community_name, compound,
           max(road_no) as road_no,
           max(grid_code) filter (where grid_rank = 1) as grid_code
    from (
        select district_name, street_name, community_name, compound, grid_code,
               max(road_no) as road_no,
               row_number() over (partition by district_name, street_name, community_name, compound
                                  order by count(*) desc, grid_code) as grid_rank
        from dwellings
        group by district_name, street_name, community_name, compound, grid_code
    ) x
    group by district_name, street_name, community_name, compound
),
compound_buildings as (
    select district_name, street_name, community_name, compound, building, grid_code from (
        select district_name, street_name, community_name, compound, building, grid_code,
               row_number() over (partition by district_name, street_name, community_name, compound, building
                                  order by count(*) desc, grid_code) as rk
        from dwellings where building is not null
        group by district_name, street_name, community_name, compound, building, grid_code
    ) x where rk = 1
),
unplaced as (
    select ev.record_id, ev.address_norm,
           {{ onegrid.building_number('ev.address_norm') }} as building_no
    from ev
    where ev.record_id not in (select point_key from by_point)
      and ev.record_id not in (select record_id from by_legacy)
      and ev.address_norm is not null
),
scored as (
    -- candidate compounds named in the address, scored by the other place names it also holds
    select u.record_id, u.building_no, c.district_name, c.street_name, c.community_name,
           c.compound, c.grid_code,
           4 * cast(c.road_no is not null and {{ onegrid.contains_text('u.address_norm', 'c.road_no') }} as int)
           + 2 * cast(c.district_name is not null and {{ onegrid.contains_text('u.address_norm', 'c.district_name') }} as int)
           + cast(c.street_name is not null and {{ onegrid.contains_text('u.address_norm', 'c.street_name') }} as int)
           + cast(c.community_name is not null and {{ onegrid.contains_text('u.address_norm', 'c.community_name') }} as int)
           + cast(cb.building is not null as int)
           + length(c.compound) / 100.0 as score
    from unplaced u
    join compounds c on {{ onegrid.contains_text('u.address_norm', 'c.compound') }}
    left join compound_buildings cb
      on cb.district_name is not distinct from c.district_name
     and cb.street_name is not distinct from c.street_name
     and cb.community_name is not distinct from c.community_name
     and cb.compound = c.compound and cb.building = u.building_no
),
best as (
    select * from (
        select scored.*,
               row_number() over (partition by record_id order by score desc, grid_code) as rk,
               count(*) over (partition by record_id, score) as ties
        from scored
    ) x where rk = 1 and ties = 1
),
by_address_exact as (
    -- the grid of the named building in that compound
    select b.record_id, cb.grid_code
    from best b
    join compound_buildings cb
      on cb.district_name is not distinct from b.district_name
     and cb.street_name is not distinct from b.street_name
     and cb.community_name is not distinct from b.community_name
     and cb.compound = b.compound and cb.building = b.building_no
),
by_compound as (
    select record_id, grid_code from best
    where record_id not in (select record_id from by_address_exact)
),
by_address_share as (
    select record_id, grid_code, share
    from {{ ref('int_incident_address_grids') }}
    where grid_code is not null
      and (is_unambiguous or share >= {{ var('address_min_share', 0.6) }})
)
select
    ev.record_id,
    coalesce(p.grid_code, l.grid_code, ae.grid_code, bc.grid_code, bs.grid_code) as grid_code,
    case
        when p.grid_code is not null then 'point_in_grid'
        when l.grid_code is not null then 'legacy_grid'
        when ae.grid_code is not null or bc.grid_code is not null or bs.grid_code is not null
            then 'address'
        else 'unresolved'
    end as grid_match_rule,
    case
        when p.grid_code is not null then 1.0
        when l.grid_code is not null then 0.95
        when ae.grid_code is not null then 0.9
        when bc.grid_code is not null then 0.7
        when bs.grid_code is not null then 0.6 * bs.share
        else 0.0
    end as grid_match_score
from ev
left join by_point p on p.point_key = ev.record_id
left join by_legacy l on l.record_id = ev.record_id
left join by_address_exact ae on ae.record_id = ev.record_id
left join by_compound bc on bc.record_id = ev.record_id
left join by_address_share bs on bs.record_id = ev.record_id
