-- Incident placement by address (for int_incident_placement, rule `address`): each current
-- event whose 地址 gives a building or compound that int_address_grid_lookup places
-- grid_code = the grid most of the named dwellings lie in; share = their fraction there and
-- is_unambiguous when all of them are in it. The consumer places by address only when
-- is_unambiguous or share >= var('address_min_share', 0.6) (a compound name shared by compounds in
-- several grids is otherwise left unplaced rather than put on a guessed grid).
with ev as (
    select e.record_id, e.address
    from {{ ref('int_event_records_latest') }} e
    where e.address is not null
),
names as (
    select
        list(distinct district_name) filter (where district_name is not null) as districts,
        list(distinct street_name) filter (where street_name is not null) as streets
    from {{ ref('int_grids_validated') }}
),
keyed as (
    select ev.record_id, {{ onegrid.address_lookup_key('ev.address', 'n.districts', 'n.streets') }} as lookup_key
    from ev cross join names n
)
select
    k.record_id,
    k.lookup_key,
    l.grid_code,
    case left(k.lookup_key, 1) when 'B' then 'address_building' when 'C' then 'address_compound'
         else 'address_compound_name' end as address_rule,
    l.dwellings,
    l.share,
    l.is_unambiguous
from keyed k
join {{ ref('int_address_grid_lookup') }} l on l.lookup_key = k.lookup_key
