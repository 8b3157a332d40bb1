-- Toneless pinyin of each distinct normalised person name: py = one list of readings per
-- character (restricted zone: keyed by the name itself).
with names as (
    select distinct name_norm from {{ ref('int_person_records_prepared') }} where name_norm is not null
),
chars as (
    select name_norm, unnest(range(1, length(name_norm) + 1)) as pos
    from names
)
select
    c.name_norm,
    list(coalesce(p.readings, [substr(c.name_norm, c.pos, 1)]) order by c.pos) as py
from chars c
left join {{ ref('int_name_pinyin') }} p on p.ch = substr(c.name_norm, c.pos, 1)
group by c.name_norm
