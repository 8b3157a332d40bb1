-- Deterministic stage of person resolution: records with a usable identity number (id_hash).
-- A shared valid number is strong evidence, not proof. Per number the anchor name is the most
-- frequent name among its records whose birth date and sex agree with the number (a relative's
-- number copied onto another household member comes with that member's own name and birth
-- date). A record joins its number's cluster (id_accepted) when
--   its birth date and sex agree with the number (or are missing) and its name is the anchor
--   name, homophone-compatible with it (int_name_pinyin), or differs from it in one character
--   only (same length, same surname: a typo on a record that carries the same number); or
--   its name is exactly the anchor name (a wrong birth date on an otherwise identical record),
--   unless a record of the number that agrees with it sits in the same household under another
--   relation (户主 and 子 of one household named alike: a father's number copied onto his son).
-- Other records are rejected: the number is treated as not theirs and they go to the
-- probabilistic stage (int_person_records_resolved).
-- id_repaired: two clusters with different valid numbers are one person when the numbers' first
-- 17 digits differ by one digit or one adjacent transposition AND name (compatible), birth
-- date and address agree (same standardised 现住址/居住地址, or one's 现住址 is the other's
-- 户籍地址, or the same household). The surviving number (root) is the one with more records,
-- then the smaller id_hash.
-- r, base and judged are read several times: evaluated where read rather than stored
-- (onegrid.not_materialized; 10M residents: 41.3 → 38.1 s).
with r as {{ onegrid.not_materialized() }} (
    select
        source, source_record_id, _record_key, id_hash, id_number, name_norm, gender,
        birth_date, birth_eff, live_h, reg_h, household_h, relation,
        (birth_date is null or birth_date = id_birth)
        and (gender is null or (gender = '男') = id_male) as agrees_with_number
    from {{ ref('int_person_records_prepared') }}
    where id_hash is not null
),
name_range as (
    -- most numbers have records of one name only: that name is the anchor, no vote needed
    select id_hash, min(name_norm) as name_min, max(name_norm) as name_max
    from r
    where agrees_with_number and name_norm is not null
    group by id_hash
),
name_votes as (
    -- only numbers whose agreeing records carry several names vote (10M residents: the model
    -- took 32.3 s with a vote for every number, 26.1 s so, same rows)
    select id_hash, name_norm, count(*) as n, min(_record_key) as first_key
    from r
    where agrees_with_number and name_norm is not null
      and id_hash in (select id_hash from name_range where name_min <> name_max)
    group by id_hash, name_norm
),
anchor as (
    select id_hash, name_min as anchor_name from name_range where name_min = name_max
    union all
    select id_hash, name_norm as anchor_name
    from (
        select *, row_number() over (partition by id_hash order by n desc, first_key) as rk
        from name_votes
    ) x
    where rk = 1
),
relative_of_holder as (
    -- records that disagree with their number while a record that agrees with it is another
    -- member (another relation) of the same household
    select distinct d._record_key
    from r d
    join r a
      on a.id_hash = d.id_hash and a.household_h = d.household_h
     and a.agrees_with_number and a.relation <> d.relation
    where not d.agrees_with_number
),
base as {{ onegrid.not_materialized() }} (
    select r.*, a.anchor_name, rh._record_key is not null as is_relative_of_holder
    from r
    left join anchor a on a.id_hash = r.id_hash
    left join relative_of_holder rh on rh._record_key = r._record_key
),
-- names that differ from their anchor: compare with pinyin (only these need it)
differing as (
    select distinct b.name_norm, b.anchor_name
    from base b
    where b.anchor_name is not null and b.name_norm is distinct from b.anchor_name
      and b.agrees_with_number and b.name_norm is not null
),
differing_py as (
    {{ onegrid.names_pinyin('select name_norm from differing union all select anchor_name from differing', ref('int_name_pinyin')) }}
),
differing_judged as (
    select
        d.name_norm,
        d.anchor_name,
        {{ onegrid.names_compatible('d.name_norm', 'd.anchor_name', 'p1.py', 'p2.py') }}
        or {{ onegrid.names_one_char_apart('d.name_norm', 'd.anchor_name') }} as compatible
    from differing d
    left join differing_py p1 on p1.name_norm = d.name_norm
    left join differing_py p2 on p2.name_norm = d.anchor_name
),
judged as {{ onegrid.not_materialized() }} (
    select
        b.*,
        case
            when b.anchor_name is null then false
            when b.name_norm = b.anchor_name then not b.is_relative_of_holder
            when not b.agrees_with_number then false
            else coalesce(dj.compatible, false)
        end as id_accepted
    from base b
    left join differing_judged dj
      on dj.name_norm = b.name_norm and dj.anchor_name = b.anchor_name
),
accepted as (
    select * from judged where id_accepted
),
cluster_size as (
    -- per accepted number: its records, and its number and anchor name (functions of id_hash)
    select id_hash, count(*) as n, min(id_number) as id_number, min(anchor_name) as anchor_name
    from accepted group by id_hash
),
-- candidate pairs of different numbers whose records agree on birth date and address (the
-- number and anchor name depend on id_hash only, so they are joined after the self-join)
addr_keys as (
    select id_hash, birth_eff, live_h as k from accepted where live_h is not null
    union
    select id_hash, birth_eff, reg_h from accepted where reg_h is not null
    union
    select id_hash, birth_eff, household_h from accepted where household_h is not null
),
cand_pairs as (
    select distinct a.id_hash as h1, b.id_hash as h2
    from addr_keys a
    join addr_keys b
      on a.birth_eff = b.birth_eff and a.k = b.k and a.id_hash < b.id_hash
),
cand as (
    select c.h1, c.h2, s1.id_number as n1, s2.id_number as n2, s1.anchor_name as name1, s2.anchor_name as name2
    from cand_pairs c
    join cluster_size s1 on s1.id_hash = c.h1
    join cluster_size s2 on s2.id_hash = c.h2
),
cand_id as (
    select * from cand c where {{ onegrid.id_one_edit_apart('c.n1', 'c.n2') }}
),
cand_py as (
    {{ onegrid.names_pinyin('select name1 as name_norm from cand_id union all select name2 from cand_id', ref('int_name_pinyin')) }}
),
repair_edges as (
    select distinct c.h1, c.h2
    from cand_id c
    left join cand_py p1 on p1.name_norm = c.name1
    left join cand_py p2 on p2.name_norm = c.name2
    where {{ onegrid.names_compatible('c.name1', 'c.name2', 'p1.py', 'p2.py') }}
),
-- root of each number: the strongest number (more records, then the smaller id_hash) reachable
-- over repair edges; rank_key sorts strongest first. Three hops suffice (components are pairs
-- in practice).
e as (
    select h1 as a, h2 as b from repair_edges
    union all
    select h2, h1 from repair_edges
),
enodes as (
    -- only numbers with a repair edge can get another root: propagate over those alone
    select distinct a as id_hash from e
),
root0 as (
    select c.id_hash, lpad(cast(100000000 - c.n as varchar), 9, '0') || c.id_hash as rank_key
    from cluster_size c join enodes en on en.id_hash = c.id_hash
)
{{ onegrid.min_label_rounds('root', 'e', 'id_hash', 'rank_key', 3) }},
roots as (
    select id_hash, substr(rank_key, 10) as root from root3
)
select
    -- keyed by _record_key (a keyed hash of source, table and record id); only what
    -- int_person_records_resolved reads is written
    j._record_key,
    j.id_accepted,
    j.name_norm = j.anchor_name as name_is_anchor,
    -- a number without repair edges is its own root
    case when j.id_accepted then coalesce(rt.root, j.id_hash) end as root_id_hash,
    coalesce(j.id_accepted and coalesce(rt.root, j.id_hash) <> j.id_hash, false) as is_repaired
from judged j
left join roots rt on rt.id_hash = j.id_hash
