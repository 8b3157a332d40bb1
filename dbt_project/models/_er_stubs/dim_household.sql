{{ config(enabled=('dim_household' in var('er_stubs', [])), schema='marts', contract={'enforced': false}) }}
select household_key, min(case when relation = '户主' then person_key end) as head_person_key,
       count(*) as members, min(house_key) as house_key, min(grid_code) as grid_code
from {{ ref('dim_person') }} group by household_key
