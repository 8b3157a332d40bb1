{{ config(enabled=(var('people_source', 'er') != 'none')) }}
-- Care list (关爱名单) of situations derivable from the data, per grid and grid worker. Open
-- tier: people appear only by person_key (no names, ID numbers or phones).
--   elderly_living_alone   aged ≥ var elderly_age, the only resident of the dwelling (独居老人)
--   empty_nest_elderly     every resident of the dwelling (≥ 2) aged ≥ elderly_age (空巢老人)
--   separated_household    人户分离 — 人在户不在 or 户在人不在
--   floating_population    流入人口
{% set elderly = var('elderly_age', 65) %}
with as_of as (
    select cast({{ onegrid.utc_to_cst('max(_extracted_at)') }} as date) as as_of_date
    from {{ ref('stg_household__persons') }}
),
p as (
    select dp.person_key, dp.house_key, dp.grid_code, dp.residency_status,
           {{ dbt.datediff('dp.birth_date', 'a.as_of_date', 'year') }}
             - case when {{ dbt.dateadd('year', dbt.datediff('dp.birth_date', 'a.as_of_date', 'year'), 'dp.birth_date') }} > a.as_of_date then 1 else 0 end as age
    from {{ ref('dim_person') }} dp cross join as_of a
    where dp.grid_code is not null
),
dwelling as (
    select house_key, count(*) as residents,
           sum(case when age >= {{ elderly }} then 1 else 0 end) as elderly
    from p where house_key is not null group by house_key
),
situations as (
    select p.person_key, p.grid_code, p.house_key, p.age, 'elderly_living_alone' as situation
    from p join dwelling d on d.house_key = p.house_key
    where d.residents = 1 and p.age >= {{ elderly }}
    union all
    select p.person_key, p.grid_code, p.house_key, p.age, 'empty_nest_elderly'
    from p join dwelling d on d.house_key = p.house_key
    where d.residents >= 2 and d.elderly = d.residents
    union all
    select person_key, grid_code, house_key, age, 'separated_household'
    from p where residency_status in ('人在户不在', '户在人不在')
    union all
    select person_key, grid_code, house_key, age, 'floating_population'
    from p where residency_status = '流入人口'
)
select
    cast(s.grid_code as varchar) as grid_code,
    cast({{ onegrid.mask_name('g.grid_worker') }} as varchar) as grid_worker_masked,
    cast(g.community_code as varchar) as community_code,
    cast(s.situation as varchar) as situation,
    cast(s.person_key as varchar) as person_key,
    cast(s.house_key as varchar) as house_key,
    cast(s.age as bigint) as age
from situations s
left join {{ ref('int_grids_validated') }} g on g.grid_code = s.grid_code
