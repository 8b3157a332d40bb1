-- Deterministic stage of person resolution: records with a usable identity number (id_hash).
-- A shared valid number is strong evidence, not proof. Per number the anchor name is the most
-- frequent name among its records whose birth date and sex agree with the number (a relative's
-- number copied onto another household member comes with that member's own name and birth
-- date). A record joins its number's cluster when its name is the anchor name or homophone-
-- compatible with it, and its birth date agrees with the number (or is missing, or the name is
-- identical). Other records are "rejected": their number is treated as not theirs and they go to
-- the probabilistic stage.
-- id_repaired: two clusters with different valid numbers are one person when the numbers' first
-- 17 digits differ by one digit or one adjacent transposition AND name (compatible), birth
-- date and address (same dwelling / standardised 现住址, or same household) agree. The surviving
-- number (root) is the one with more records, then the smaller id_hash.
with r as (
    select p.*, py.py
    from {{ ref('int_person_records_prepared') }} p
    left join {{ ref('int_person_name_pinyin') }} py on py.name_norm = p.name_norm
    where p.id_hash is not null
),
flagged as (
    select
        *,
        (birth_date is null or birth_date = id_birth)
        and (gender is null or (gender = '男') = id_male) as agrees_with_number
    from r
),
name_votes as (
    select id_hash, name_norm, any_value(py) as py, count(*) as n, min(_record_key) as first_key
    from flagged
    where agrees_with_number and name_norm is not null
    group by id_hash, name_norm
),
anchor as (
    select id_hash, name_norm as anchor_name, py as anchor_py
    from (
        select *, row_number() over (partition by id_hash order by n desc, first_key) as rk
        from name_votes
    ) x
    where rk = 1
),
judged as (
    select
        f.*,
        a.anchor_name,
        a.anchor_name is not null
        and {{ onegrid.names_compatible('f.name_norm', 'a.anchor_name', 'f.py', 'a.anchor_py') }}
        and (f.agrees_with_number or f.name_norm = a.anchor_name) as id_accepted
    from flagged f
    left join anchor a on a.id_hash = f.id_hash
),
accepted as (
    select * from judged where id_accepted
),
cluster_size as (
    select id_hash, count(*) as n from accepted group by id_hash
),
-- candidate pairs of different numbers whose records agree on birth date and address/household
cand as (
    select distinct a.id_hash as h1, b.id_hash as h2, a.id_number as n1, b.id_number as n2,
           a.name_norm as name1, b.name_norm as name2, a.py as py1, b.py as py2
    from accepted a
    join accepted b
      on a.birth_eff = b.birth_eff and a.live_std = b.live_std and a.id_hash < b.id_hash
    union
    select distinct a.id_hash, b.id_hash, a.id_number, b.id_number,
           a.name_norm, b.name_norm, a.py, b.py
    from accepted a
    join accepted b
      on a.birth_eff = b.birth_eff and a.household_key = b.household_key and a.id_hash < b.id_hash
),
repair_edges as (
    select distinct h1, h2
    from cand
    where {{ onegrid.id_one_edit_apart('n1', 'n2') }}
      and {{ onegrid.names_compatible('name1', 'name2', 'py1', 'py2') }}
),
-- root of each number: the strongest number (more records, then the smaller id_hash) reachable
-- over repair edges; rank_key sorts strongest first. Three hops suffice (components are pairs
-- in practice).
e as (
    select h1 as a, h2 as b from repair_edges
    union all
    select h2, h1 from repair_edges
),
root0 as (
    select id_hash, lpad(cast(100000000 - n as varchar), 9, '0') || id_hash as rank_key
    from cluster_size
)
{%- for i in range(1, 4) %},
root{{ i }} as (
    select x.id_hash, least(x.rank_key, coalesce(min(y.rank_key), x.rank_key)) as rank_key
    from root{{ i - 1 }} x
    left join e on e.a = x.id_hash
    left join root{{ i - 1 }} y on y.id_hash = e.b
    group by x.id_hash, x.rank_key
)
{%- endfor %},
roots as (
    select id_hash, substr(rank_key, 10) as root from root3
)
select
    j.source,
    j.source_record_id,
    j._record_key,
    j.id_hash,
    j.id_accepted,
    j.agrees_with_number,
    j.name_norm = j.anchor_name as name_is_anchor,
    case when j.id_accepted then rt.root end as root_id_hash,
    case when j.id_accepted and rt.root <> j.id_hash then true else false end as is_repaired
from judged j
left join roots rt on rt.id_hash = j.id_hash
