-- Every current person-like record — household persons (source 'household') and party members
-- (source 'party') — resolved to one real person: person_key, match_rule, match_score.
--   id_exact       usable identity number accepted for this record (int_person_id_clusters)
--   id_repaired    accepted number merged into another one a digit/transposition apart
--   probabilistic  no usable (or a rejected) number: linked to its best candidate record
--   unresolved     no usable number and no candidate good enough: a person of its own
-- Probabilistic stage: candidates share birth date and sex (blocking), have compatible names
-- (equal, homophone (int_name_pinyin) or one look-alike character apart) and at least one of: same dwelling / standardised
-- address, same household, same phone. The pair weight (macro person_pair_weight) must reach
-- 0 (match probability ≥ 0.5 after the -12 prior); each loose record links to its best
-- candidate, and chains of loose records are followed to their root.
-- person_key = the root identity number's id_hash (a keyed hash), else the smallest
-- _record_key of the linked loose records (also a keyed hash) — never a bare hash of a number.
-- Incremental: an accepted record's row depends on its placed row only; a loose record's on its
-- candidates and on the loose records linked to it. Each loose record stores what the next build
-- needs: its candidates (_candidates) and its best and best rejected candidate (_best_*,
-- _rejected_probability). A build scores again the loose records that changed, that had a
-- changed or departed record among their candidates, or that a changed record is a candidate of
-- now; it labels the components of all loose records again from the stored and new links
-- (27,886 loose records at qianxinan) and writes the changed records, the records scored again
-- and the loose records whose person, rule or score changed. Records that left are written as
-- tombstones and deleted by the post_hook. The table always equals a full rebuild
-- (tests/test_dbt_incremental.py).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_record_key',
    on_schema_change='fail',
    post_hook="{{ onegrid.delete_if_incremental('source is null') }}"
) }}
{%- set evidence = [('house_key', 'house_key'), ('live_h', 'live_h'), ('live_h', 'reg_h'),
                    ('reg_h', 'live_h'), ('household_h', 'household_h'),
                    ('phone_norm', 'phone_norm')] %}
with
loose_all as (
    select * from {{ ref('int_person_records_placed') }} where not coalesce(id_accepted, false)
),
{%- if is_incremental() %}
changed_rows as (
    select * from {{ ref('int_person_records_placed') }}
    where _built_at > {{ onegrid.last_built() }}
),
changed as (
    select _record_key from changed_rows
),
gone as (
    select t._record_key
    from {{ this }} t
    left join (select _record_key from {{ ref('int_person_records_placed') }}) p
      on p._record_key = t._record_key
    where p._record_key is null
),
stored_candidates as (
    select _record_key, _candidates from {{ this }} where _candidates is not null
),
dirty as (
    -- loose records to score again
    select _record_key from loose_all where _record_key in (select _record_key from changed)
    union
    -- a changed or departed record was one of their candidates
    select s.split_key
    from ({{ onegrid.split_to_rows('stored_candidates', '_record_key', '_candidates', ',') }}) s
    where s.item in (select _record_key from changed union all select _record_key from gone)
    {%- for lcol, ccol in evidence %}
    union
    -- a changed record is one of their candidates now
    select l._record_key
    from loose_all l
    join changed_rows c
      on c.{{ ccol }} = l.{{ lcol }}
     and c.birth_eff = l.birth_eff
     and c.gender is not distinct from l.gender
     and c._record_key <> l._record_key
    {%- endfor %}
),
{%- endif %}
loose as (
    select * from loose_all
    {%- if is_incremental() %}
    where _record_key in (select _record_key from dirty)
    {%- endif %}
),
candidates as (
    -- a loose record and another record of the same birth date and sex that share a dwelling,
    -- a standardised address (现住址 or 户籍地址 either way round), a household or a phone: one
    -- equi-join per kind of evidence. (Blocking on birth date and sex alone and keeping the
    -- pairs with evidence built every pair of a block first: 264M pairs for 25k kept at 10M
    -- residents.)
    {%- for lcol, ccol in evidence %}
    {% if not loop.first %}union{% endif %}
    select l._record_key as lkey, c._record_key as ckey
    from loose l
    join {{ ref('int_person_records_placed') }} c
      on c.{{ ccol }} = l.{{ lcol }}
     and c.birth_eff = l.birth_eff
     and c.gender is not distinct from l.gender
     and c._record_key <> l._record_key
    {%- endfor %}
),
in_context as (
    select
        l._record_key as lkey,
        c._record_key as ckey,
        l.name_norm as lname,
        c.name_norm as cname,
        coalesce(c.id_accepted, false) as c_accepted,
        c.root_id_hash as c_root,
        coalesce(l.house_key = c.house_key or l.live_h = c.live_h
                 or l.live_h = c.reg_h or l.reg_h = c.live_h, false) as same_address,
        coalesce(l.household_h = c.household_h, false) as same_household,
        coalesce(l.reg_h = c.reg_h, false) as same_reg,
        coalesce(l.phone_norm = c.phone_norm, false) as same_phone,
        coalesce(l.ethnicity <> c.ethnicity, false) as eth_differs,
        coalesce(l.household_h = c.household_h and l.relation <> c.relation, false) as role_differs
    from candidates k
    join loose l on l._record_key = k.lkey
    join {{ ref('int_person_records_placed') }} c on c._record_key = k.ckey
),
pair_py as (
    {{ onegrid.names_pinyin('select lname as name_norm from in_context union all select cname from in_context', ref('int_name_pinyin')) }}
),
pairs as (
    select
        b.*,
        b.lname = b.cname as name_equal,
        {{ onegrid.names_compatible('b.lname', 'b.cname', 'p1.py', 'p2.py') }} as name_ok,
        {{ onegrid.names_one_char_apart('b.lname', 'b.cname') }} as name_close
    from in_context b
    left join pair_py p1 on p1.name_norm = b.lname
    left join pair_py p2 on p2.name_norm = b.cname
),
weighted as (
    select
        *,
        {{ onegrid.person_pair_weight('name_equal', 'name_ok', 'name_close', 'same_address', 'same_household',
                                      'same_reg', 'same_phone', 'eth_differs', 'role_differs') }} as weight,
        same_address or same_household or same_phone as context_ok
    from pairs
),
scored as (
    select *, 1 / (1 + pow(2, -weight)) as probability
    from weighted
),
best_new as (
    -- best accepted candidate per loose record; ties: candidates with a number first, then key
    select * from (
        select *, row_number() over (
            partition by lkey order by weight desc, c_accepted desc, ckey) as rk
        from scored
        where (name_ok or name_close) and context_ok and weight >= 0
    ) x where rk = 1
),
rejected_new as (
    select lkey, max(probability) as probability
    from scored
    where not ((name_ok or name_close) and context_ok and weight >= 0)
    group by lkey
),
candidate_lists as (
    select lkey, {{ dbt.listagg('ckey', "','", 'order by ckey') }} as candidates
    from (select distinct lkey, ckey from scored) x
    group by lkey
),
facts as (
    -- per loose record: its best and best rejected candidate, and every candidate
    select
        l._record_key,
        b.ckey as best_ckey,
        b.weight as best_weight,
        b.c_accepted as best_c_accepted,
        b.c_root as best_c_root,
        b.probability as best_probability,
        br.probability as rejected_probability,
        cl.candidates
    from loose l
    left join best_new b on b.lkey = l._record_key
    left join rejected_new br on br.lkey = l._record_key
    left join candidate_lists cl on cl.lkey = l._record_key
    {%- if is_incremental() %}
    union all
    -- loose records not scored again: as stored
    select _record_key, _best_ckey, _best_weight, _best_c_accepted, _best_c_root,
           _best_probability, _rejected_probability, _candidates
    from {{ this }}
    where _record_key in (select _record_key from loose_all)
      and _record_key not in (select _record_key from dirty)
    {%- endif %}
),
best as (
    select _record_key as lkey, best_ckey as ckey, best_weight as weight,
           best_c_accepted as c_accepted, best_c_root as c_root, best_probability as probability
    from facts
    where best_ckey is not null
),
-- loose → loose links form a functional graph: label components by the smallest key (a few
-- rounds of min-label propagation) and take the number its root points to, if any
ll as (
    select lkey as a, ckey as b from best where not c_accepted
    union all
    select ckey, lkey from best where not c_accepted
),
lab0 as (
    select _record_key as k, _record_key as label from facts
)
{{ onegrid.min_label_rounds('lab', 'll', 'k', 'label', 5) }},
comp_root as (
    -- the number a component is attached to (the best-weighted link of its members)
    select l.label, arg_max(b.c_root, b.weight) as root_id_hash
    from lab5 l join best b on b.lkey = l.k
    where b.c_accepted
    group by l.label
),
comp_size as (
    select label, count(*) as n from lab5 group by label
),
loose_resolved as (
    select
        l.k as _record_key,
        coalesce(cr.root_id_hash, l.label) as person_key,
        case when b.lkey is not null or cs.n > 1 then 'probabilistic' else 'unresolved' end as match_rule,
        case when b.lkey is not null then b.probability
             when cs.n > 1 then (select max(b2.probability) from best b2 where b2.ckey = l.k)
             else 1 - coalesce(f.rejected_probability, 0) end as match_score
    from lab5 l
    left join comp_root cr on cr.label = l.label
    left join comp_size cs on cs.label = l.label
    left join best b on b.lkey = l.k
    left join facts f on f._record_key = l.k
),
placed_written as (
    select * from {{ ref('int_person_records_placed') }}
    {%- if is_incremental() %}
    -- the changed records and the loose ones (only those can change); selected before the joins
    -- below (as one OR after them, every record was joined first: 17% of this model's time)
    where _record_key in (select _record_key from changed)
    union all
    select * from {{ ref('int_person_records_placed') }}
    where not coalesce(id_accepted, false)
      and _record_key not in (select _record_key from changed)
    {%- endif %}
),
resolved as (

select
    p.source,
    p.source_record_id,
    p._record_key,
    coalesce(lr.person_key, p.root_id_hash) as person_key,
    case when p.id_accepted and p.is_repaired then 'id_repaired'
         when p.id_accepted then 'id_exact'
         else lr.match_rule end as match_rule,
    cast(round(case when p.id_accepted and p.is_repaired then 0.95
                    when p.id_accepted and p.name_is_anchor then 1.0
                    when p.id_accepted then 0.98
                    else lr.match_score end, 4) as double) as match_score,
    p.house_key,
    h.grid_code,
    p.household_key,
    p.id_status,
    coalesce(p.id_accepted, false) as id_accepted,
    case when p.id_accepted then p.id_hash end as id_hash,
    case when p.id_accepted then p.id_number end as id_number,
    coalesce(p.name_is_anchor, false) as name_is_anchor,
    p.name_norm,
    p.gender,
    p.birth_eff as birth_date,
    p.ethnicity,
    p.relation,
    p.residency_status,
    f.candidates as _candidates,
    f.best_ckey as _best_ckey,
    f.best_weight as _best_weight,
    f.best_c_accepted as _best_c_accepted,
    f.best_c_root as _best_c_root,
    f.best_probability as _best_probability,
    f.rejected_probability as _rejected_probability,
    {{ onegrid.build_stamp() }} as _built_at
from placed_written p
left join loose_resolved lr on lr._record_key = p._record_key
left join facts f on f._record_key = p._record_key
left join (
    select house_key, min(grid_code) as grid_code from {{ ref('int_house_records_resolved') }}
    {%- if is_incremental() %}
    where house_key in (select house_key from placed_written)
    {%- endif %}
    group by house_key
) h on h.house_key = p.house_key
)
select r.*
from resolved r
{%- if is_incremental() %}
left join {{ this }} t on t._record_key = r._record_key
where r._record_key in (select _record_key from changed)
   or r._record_key in (select _record_key from dirty)
   or t.person_key is distinct from r.person_key
   or t.match_rule is distinct from r.match_rule
   or t.match_score is distinct from r.match_score
union all
-- tombstones of the records that left (deleted by the post_hook)
select null, null, g._record_key, null, null, null, null, null, null, null, null, null, null,
       null, null, null, null, null, null, null, null, null, null, null, null, null, null, null
from gone g
{%- endif %}

