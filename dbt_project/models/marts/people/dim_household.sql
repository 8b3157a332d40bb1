-- One row per current household (户), open tier.
select
    cast(household_key as varchar) as household_key,
    cast(head_person_key as varchar) as head_person_key,
    cast(members as integer) as members,
    cast(house_key as varchar) as house_key,
    cast(grid_code as varchar) as grid_code,
    cast(resident_members as integer) as resident_members,
    cast(placement_rule as varchar) as placement_rule
from {{ ref('int_households_built') }}
