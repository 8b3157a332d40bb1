{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_record_key',
    on_schema_change='fail',
    post_hook="{{ onegrid.delete_if_incremental('id_hash is null') }}"
) }}
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
-- Incremental: a number's acceptance depends only on the records carrying it, and a number's
-- root only on the repair graph within three hops. A build judges again only the numbers of
-- records prepared since the last build (_prepared_at) or no longer current ("dirty" numbers),
-- looks for repair edges from those numbers to every other number, recomputes the roots of the
-- whole (small) repair graph and rewrites the rows of the dirty numbers and of the numbers whose
-- root or repair neighbours changed. Records that left are written as tombstones (id_hash null)
-- and deleted by the post_hook. The table always equals a full rebuild
-- (tests/test_dbt_incremental.py).
-- r, base and judged are read several times: evaluated where read rather than stored
-- (onegrid.not_materialized; 10M residents: 41.3 → 38.1 s).
with
{%- if is_incremental() %}
changed as (
    -- records prepared (or prepared again) since this model was last built
    select _record_key, id_hash from {{ ref('int_person_records_prepared') }}
    where _prepared_at > {{ onegrid.last_built('_prepared_at') }}
),
gone as (
    -- stored records that are no longer current, or no longer carry a usable number
    select t._record_key, t.id_hash
    from {{ this }} t
    left join (
        select _record_key from {{ ref('int_person_records_prepared') }} where id_hash is not null
    ) p on p._record_key = t._record_key
    where p._record_key is null
),
dirty as (
    select id_hash from changed where id_hash is not null
    union
    select t.id_hash from {{ this }} t join changed c on c._record_key = t._record_key
    union
    select id_hash from gone
),
{%- endif %}
r as {% if not is_incremental() %}{{ onegrid.not_materialized() }} {% endif %}(
    select
        source, source_record_id, _record_key, id_hash, id_number, name_norm, gender,
        birth_date, birth_eff, live_h, reg_h, household_h, relation, _prepared_at,
        (birth_date is null or birth_date = id_birth)
        and (gender is null or (gender = '男') = id_male) as agrees_with_number
    from {{ ref('int_person_records_prepared') }}
    where id_hash is not null
    {%- if is_incremental() %}
      and id_hash in (select id_hash from dirty)
    {%- endif %}
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
cluster_size_judged as (
    -- per accepted number: its records, and its number and anchor name (functions of id_hash)
    select id_hash, count(*) as n, min(id_number) as id_number, min(anchor_name) as anchor_name
    from accepted group by id_hash
),
addr_keys as (
    -- one DISTINCT over the three (chained UNIONs grouped the keys twice: qianxinan full
    -- statement alone 2.62 → 2.29 s)
    select distinct id_hash, birth_eff, k from (
        select id_hash, birth_eff, live_h as k from accepted where live_h is not null
        union all
        select id_hash, birth_eff, reg_h from accepted where reg_h is not null
        union all
        select id_hash, birth_eff, household_h from accepted where household_h is not null
    ) keys
),
{%- if not is_incremental() %}
-- candidate pairs of different numbers whose records agree on birth date and address (the
-- number and anchor name depend on id_hash only, so they are joined after the self-join)
cand_pairs as (
    select distinct a.id_hash as h1, b.id_hash as h2
    from addr_keys a
    join addr_keys b
      on a.birth_eff = b.birth_eff and a.k = b.k and a.id_hash < b.id_hash
),
cluster_size as (
    select * from cluster_size_judged
),
{%- else %}
-- candidate pairs from a dirty number's accepted records to the accepted records of any other
-- number (a key of one side may equal any of the three keys of the other)
cand_records as (
    {%- for col in ['live_h', 'reg_h', 'household_h'] %}
    {% if not loop.first %}union{% endif %}
    select a.id_hash as h1, p.id_hash as h2, p._record_key as rk2
    from addr_keys a
    join {{ ref('int_person_records_prepared') }} p
      on p.birth_eff = a.birth_eff and p.{{ col }} = a.k
    where p.id_hash is not null and p.id_hash <> a.id_hash
    {%- endfor %}
),
cand_accepted as (
    -- the other record must be accepted: as judged now (dirty number), else as stored
    select c.h1, c.h2
    from cand_records c
    left join judged j on j._record_key = c.rk2
    left join {{ this }} t on t._record_key = c.rk2
    where case when c.h2 in (select id_hash from dirty) then j.id_accepted else t.id_accepted end
),
cand_pairs as (
    select distinct least(h1, h2) as h1, greatest(h1, h2) as h2 from cand_accepted
),
cluster_size_stored as (
    -- the same for numbers that are not dirty, from their stored rows
    select t.id_hash, count(*) as n, min(p.id_number) as id_number,
           min(case when t.name_is_anchor then p.name_norm end) as anchor_name
    from (
        select * from {{ this }}
        where id_accepted
          and id_hash not in (select id_hash from dirty)
          and id_hash in (select h1 from cand_pairs union select h2 from cand_pairs)
    ) t
    join (
        select _record_key, id_number, name_norm from {{ ref('int_person_records_prepared') }}
        where id_hash in (select h1 from cand_pairs union select h2 from cand_pairs)
    ) p on p._record_key = t._record_key
    group by t.id_hash
),
cluster_size as (
    select * from cluster_size_judged
    union all
    select * from cluster_size_stored
),
{%- endif %}
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
-- the repair graph, every edge in both directions
{%- if is_incremental() %}
stored_neighbours as (
    -- per number with repair edges: its stored neighbours and root
    select id_hash, min(repair_neighbours) as repair_neighbours, max(root_id_hash) as root_id_hash
    from {{ this }}
    where repair_neighbours is not null
    group by id_hash
),
e as (
    -- stored edges between numbers that are not dirty, and the edges found from dirty ones
    select s.split_key as a, s.item as b
    from ({{ onegrid.split_to_rows('stored_neighbours', 'id_hash', 'repair_neighbours', ',') }}) s
    where s.split_key not in (select id_hash from dirty)
      and s.item not in (select id_hash from dirty)
    union
    select h1, h2 from repair_edges
    union
    select h2, h1 from repair_edges
),
{%- else %}
e as (
    select h1 as a, h2 as b from repair_edges
    union all
    select h2, h1 from repair_edges
),
{%- endif %}
neighbours as (
    select a as id_hash, {{ dbt.listagg('b', "','", 'order by b') }} as repair_neighbours
    from e group by a
),
enode_size as (
    -- accepted records per number of the graph (only numbers with a repair edge can get
    -- another root: propagate over those alone)
    select id_hash, n from cluster_size_judged where id_hash in (select a from e)
    {%- if is_incremental() %}
    union all
    select id_hash, count(*) from {{ this }}
    where id_accepted
      and id_hash in (select a from e)
      and id_hash not in (select id_hash from dirty)
    group by id_hash
    {%- endif %}
),
-- root of each number: the strongest number (more records, then the smaller id_hash) reachable
-- over repair edges; rank_key sorts strongest first. Three hops suffice (components are pairs
-- in practice).
root0 as (
    select id_hash, lpad(cast(100000000 - n as varchar), 9, '0') || id_hash as rank_key
    from enode_size
)
{{ onegrid.min_label_rounds('root', 'e', 'id_hash', 'rank_key', 3) }},
roots as (
    select r.id_hash, substr(r.rank_key, 10) as root, nb.repair_neighbours
    from root3 r
    join neighbours nb on nb.id_hash = r.id_hash
),
{%- if is_incremental() %}
regraphed as (
    -- numbers that are not dirty but whose root or repair neighbours changed
    select coalesce(o.id_hash, n.id_hash) as id_hash
    from stored_neighbours o
    full join roots n on n.id_hash = o.id_hash
    where coalesce(o.id_hash, n.id_hash) not in (select id_hash from dirty)
      and (o.root_id_hash is distinct from coalesce(n.root, o.id_hash)
           or o.repair_neighbours is distinct from n.repair_neighbours)
),
{%- endif %}
to_write as (
    -- the records judged now, and (incremental) the stored rows of the regraphed numbers
    select _record_key, id_hash, id_accepted, name_norm = anchor_name as name_is_anchor, _prepared_at
    from judged
    {%- if is_incremental() %}
    union all
    select _record_key, id_hash, id_accepted, name_is_anchor, _prepared_at
    from {{ this }}
    where id_hash in (select id_hash from regraphed)
    {%- endif %}
)
-- keyed by _record_key (a keyed hash of source, table and record id); only what
-- int_person_records_placed reads is written, with what the next build needs (id_hash,
-- repair_neighbours, _prepared_at)
select
    w._record_key,
    w.id_hash,
    w.id_accepted,
    w.name_is_anchor,
    -- a number without repair edges is its own root
    case when w.id_accepted then coalesce(rt.root, w.id_hash) end as root_id_hash,
    coalesce(w.id_accepted and coalesce(rt.root, w.id_hash) <> w.id_hash, false) as is_repaired,
    rt.repair_neighbours,
    w._prepared_at,
    {{ onegrid.build_stamp() }} as _built_at
from to_write w
left join roots rt on rt.id_hash = w.id_hash
{%- if is_incremental() %}
union all
-- tombstones of the records that left (deleted by the post_hook)
select g._record_key, null, null, null, null, null, null, null, null
from gone g
{%- endif %}
