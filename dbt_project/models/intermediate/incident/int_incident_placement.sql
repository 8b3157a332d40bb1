-- Places every current event on a unified grid, first rule that applies:
--   point_in_grid  the WGS-84 point (GCJ-02 already converted in bronze) lies in a grid polygon;
--   legacy_grid    the legacy code (原网格编码) resolves by (体系, 编码) through 多网合一;
--   address        the standardised address equals a dwelling's address (its grid), else names
--                  a compound (小区) whose dwellings lie mostly in one grid;
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
    select h.record_id, h.compound, {{ onegrid.normalise_address('h.address') }} as address_norm, p.grid_code
    from {{ ref('int_house_records_latest') }} h
    join (
        {{ onegrid.place_points_on_grids(
            "(select record_id, lon, lat from " ~ ref('int_house_records_latest') ~ " where lon is not null)",
            'record_id', 'lon', 'lat') }}
    ) p on p.point_key = h.record_id
),
address_grid as (
    -- an address shared by dwellings in several grids is ambiguous: take the most frequent
    select address_norm, grid_code from (
        select address_norm, grid_code,
               row_number() over (partition by address_norm order by count(*) desc, grid_code) as rk
        from dwellings where address_norm is not null
        group by address_norm, grid_code
    ) x where rk = 1
),
compound_grid as (
    select compound, grid_code from (
        select compound, grid_code,
               row_number() over (partition by compound order by count(*) desc, grid_code) as rk
        from dwellings where compound is not null and length(compound) >= 2
        group by compound, grid_code
    ) x where rk = 1
),
unplaced as (
    select ev.record_id, ev.address, ev.address_norm
    from ev
    where ev.record_id not in (select point_key from by_point)
      and ev.record_id not in (select record_id from by_legacy)
      and ev.address_norm is not null
),
by_address_exact as (
    select u.record_id, a.grid_code
    from unplaced u join address_grid a on a.address_norm = u.address_norm
),
by_compound as (
    select record_id, grid_code from (
        select u.record_id, c.grid_code,
               row_number() over (partition by u.record_id order by length(c.compound) desc, c.grid_code) as rk
        from unplaced u
        join compound_grid c on {{ onegrid.contains_text('u.address_norm', 'c.compound') }}
        where u.record_id not in (select record_id from by_address_exact)
    ) x where rk = 1
)
select
    ev.record_id,
    coalesce(p.grid_code, l.grid_code, ae.grid_code, bc.grid_code) as grid_code,
    case
        when p.grid_code is not null then 'point_in_grid'
        when l.grid_code is not null then 'legacy_grid'
        when ae.grid_code is not null or bc.grid_code is not null then 'address'
        else 'unresolved'
    end as grid_match_rule,
    case
        when p.grid_code is not null then 1.0
        when l.grid_code is not null then 0.95
        when ae.grid_code is not null then 0.9
        when bc.grid_code is not null then 0.7
        else 0.0
    end as grid_match_score
from ev
left join by_point p on p.point_key = ev.record_id
left join by_legacy l on l.record_id = ev.record_id
left join by_address_exact ae on ae.record_id = ev.record_id
left join by_compound bc on bc.record_id = ev.record_id
