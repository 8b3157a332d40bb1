-- Legacy departmental grid codes (原网格编码, unique within their 体系) resolved to the unified
-- grid that now covers them (多网合一). One row per (legacy_system, legacy_code).
with current_map as (
    select *
    from {{ ref('stg_grid__legacy_grids') }}
    where _delivery_id = (select max(_delivery_id) from {{ ref('stg_grid__legacy_grids') }})
),
dedup as (
    select *,
        row_number() over (partition by legacy_system, legacy_code order by _row_number) as rk,
        count(*) over (partition by legacy_system, legacy_code) as n_rows
    from current_map
)
select
    d.legacy_system,
    d.legacy_code,
    g.grid_code,
    d.grid_code as mapped_grid_code,
    g.grid_code is not null as is_resolved,
    d.n_rows > 1 as is_duplicated,
    d._delivery_id
from dedup d
left join {{ ref('int_grids_validated') }} g on g.grid_code = d.grid_code
where d.rk = 1
