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
with dwellings as (
    -- a dwelling by county + standardised address key (a house_key lies in one county, so
    -- the counts per county add up to the count per key)
    select district_code, address_key, min(house_key) as house_key,
           count(distinct house_key) as dwellings_in_county
    from {{ ref('int_house_records_resolved') }}
    where address_key is not null
    group by district_code, address_key
),
address_keys as (
    select address_key, sum(dwellings_in_county) as dwellings, min(house_key) as house_key
    from dwellings
    group by address_key
),
dwellings_any_county as (
    -- for addresses without a county prefix: only keys that name one dwelling in the city
    select address_key, house_key from address_keys where dwellings = 1
),
ambiguous_keys as (
    -- keys naming dwellings in more than one county (the same road, number and compound exist
    -- in two counties): a prefix-less address needs other evidence to pick one
    select address_key from address_keys where dwellings > 1
),
ambiguous_dwellings as (
    -- the candidates: one dwelling per county and key
    select d.address_key, d.district_code, d.house_key
    from dwellings d
    join ambiguous_keys k on k.address_key = d.address_key
    where d.dwellings_in_county = 1
),
ambiguous_records as (
    select p._record_key, p.live_key, p.id_hash, p.id_number, p.household_h, p.reg_district_code,
           p.residency_status
    from {{ ref('int_person_records_prepared') }} p
    join ambiguous_keys k on k.address_key = p.live_key
    where not p.live_has_prefix
),
household_counties as (
    -- the counties that the address prefixes of a household's records name (现住址 and 户籍地址),
    -- as a share of those mentions
    select household_h, district_code,
           cast(count(*) as double) / sum(count(*)) over (partition by household_h) as share
    from (
        select q.household_h, q.live_district_code as district_code
        from {{ ref('int_person_records_prepared') }} q
        where q.live_district_code is not null
          and q.household_h in (select household_h from ambiguous_records)
        union all
        select q.household_h, q.reg_district_code
        from {{ ref('int_person_records_prepared') }} q
        where q.reg_district_code is not null
          and q.household_h in (select household_h from ambiguous_records)
    ) x
    group by household_h, district_code
),
ambiguous_scored as (
    -- evidence for each candidate county: the record's identity number owns the dwelling (16);
    -- its 户籍地址 names the county and it lives at its registration (8) or not (2); its
    -- household's addresses name it (4 × share); its identity number was issued there (1)
    select
        a._record_key,
        d.house_key,
        (case when o.house_key is not null then 16 else 0 end)
        + (case when d.district_code = a.reg_district_code
                then case when a.residency_status = '人户一致' then 8 else 2 end else 0 end)
        + 4 * coalesce(hc.share, 0)
        + (case when left(a.id_number, 6) = d.district_code then 1 else 0 end) as score
    from ambiguous_records a
    join ambiguous_dwellings d on d.address_key = a.live_key
    left join (
        select distinct house_key, owner_id_hash from {{ ref('int_house_records_resolved') }}
        where owner_id_hash is not null
    ) o on o.house_key = d.house_key and o.owner_id_hash = a.id_hash
    left join household_counties hc on hc.household_h = a.household_h and hc.district_code = d.district_code
),
ambiguous_resolved as (
    -- the best-supported candidate, when there is evidence and no tie
    select _record_key, house_key from (
        select *,
               row_number() over (partition by _record_key order by score desc, house_key) as rk,
               count(*) over (partition by _record_key, score) as tied
        from ambiguous_scored
        where score > 0
    ) x
    where rk = 1 and tied = 1
),
p as (
    -- house_key: the dwelling whose standardised address key equals the 现住址 / 居住地址
    select
        p.*,
        case when p.live_has_prefix then d.house_key else coalesce(da.house_key, ar.house_key) end as house_key,
        c.id_accepted, c.root_id_hash, c.is_repaired, c.name_is_anchor
    from {{ ref('int_person_records_prepared') }} p
    left join dwellings d on d.address_key = p.live_key and d.district_code = p.live_district_code
    left join dwellings_any_county da on da.address_key = p.live_key
    left join ambiguous_resolved ar on ar._record_key = p._record_key
    left join {{ ref('int_person_id_clusters') }} c
      on c._record_key = p._record_key  -- keyed hash of source, table and record id
),
loose as (
    select * from p where not coalesce(id_accepted, false)
),
blocked as (
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
    from loose l
    join p c
      on c.birth_eff = l.birth_eff
     and c.gender is not distinct from l.gender
     and c._record_key <> l._record_key
),
in_context as (
    select * from blocked b where b.same_address or b.same_household or b.same_phone
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
best as (
    -- best accepted candidate per loose record; ties: candidates with a number first, then key
    select * from (
        select *, row_number() over (
            partition by lkey order by weight desc, c_accepted desc, ckey) as rk
        from scored
        where (name_ok or name_close) and context_ok and weight >= 0
    ) x where rk = 1
),
best_rejected as (
    select lkey, max(probability) as probability
    from scored
    where not ((name_ok or name_close) and context_ok and weight >= 0)
    group by lkey
),
-- loose → loose links form a functional graph: label components by the smallest key (a few
-- rounds of min-label propagation) and take the number its root points to, if any
ll as (
    select lkey as a, ckey as b from best where not c_accepted
    union all
    select ckey, lkey from best where not c_accepted
),
lab0 as (
    select _record_key as k, _record_key as label from loose
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
             else 1 - coalesce(br.probability, 0) end as match_score
    from lab5 l
    left join comp_root cr on cr.label = l.label
    left join comp_size cs on cs.label = l.label
    left join best b on b.lkey = l.k
    left join best_rejected br on br.lkey = l.k
)
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
    p.residency_status
from p
left join loose_resolved lr on lr._record_key = p._record_key
left join (select house_key, min(grid_code) as grid_code from {{ ref('int_house_records_resolved') }} group by house_key) h
  on h.house_key = p.house_key
