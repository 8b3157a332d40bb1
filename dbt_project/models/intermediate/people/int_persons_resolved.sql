-- One row per real person (person_key) from the resolved household and party records
-- (restricted zone). Attributes come from the person's preferred record: a household record
-- before a party record, an accepted identity number with the anchor name first, then the
-- smallest _record_key. The dwelling (house_key) is where the person actually lives: the
-- 现住址 of a household record matched to a dwelling (int_person_records_prepared), else the
-- party 居住地址; null when outside the city or unknown. grid_code is that dwelling's grid.
with r as (
    select
        r.person_key, r.match_rule, r.match_score,
        p.*,
        h.grid_code as house_grid_code,
        c.name_is_anchor
    from {{ ref('int_person_records_resolved') }} r
    join {{ ref('int_person_records_prepared') }} p
      on p.source = r.source and p.source_record_id = r.source_record_id
    left join {{ ref('int_person_id_clusters') }} c
      on c.source = r.source and c.source_record_id = r.source_record_id
    left join (select distinct house_key, grid_code from {{ ref('int_house_records_resolved') }}) h
      on h.house_key = p.house_key
),
ranked as (
    select *,
        row_number() over (
            partition by person_key
            order by case when source = 'household' then 0 else 1 end,
                     case when match_rule like 'id_%' and name_is_anchor then 0
                          when match_rule like 'id_%' then 1 else 2 end,
                     _record_key) as pref,
        row_number() over (
            partition by person_key
            order by case when house_key is not null then 0 else 1 end,
                     case when source = 'household' then 0 else 1 end,
                     _record_key) as house_pref
    from r
),
agg as (
    select
        person_key,
        count(*) as source_records,
        count(*) filter (where source = 'household') as household_records,
        count(*) filter (where source = 'party') as party_records,
        bool_or(source = 'household') as in_household_registry,
        bool_or(source = 'party') as is_party_member,
        -- the number the key comes from (the root of an id cluster), when there is one
        max(id_number) filter (where id_hash = person_key) as id_number,
        min(match_score) as min_match_score
    from r
    group by person_key
),
home as (
    select person_key, house_key, house_grid_code as grid_code
    from ranked
    where house_pref = 1
      and (house_key is not null)
      -- a household record's 现住址 decides; party 居住地址 only when there is no household record
      and (source = 'household' or person_key not in (select person_key from r where source = 'household'))
)
select
    k.person_key,
    k.household_key,
    ho.house_key,
    ho.grid_code,
    k.name_norm as name,
    a.id_number,
    k.gender,
    coalesce(k.birth_date, k.id_birth) as birth_date,
    k.ethnicity,
    k.residency_status,
    k.relation,
    a.is_party_member,
    a.in_household_registry,
    ho.house_key is not null as is_resident,
    ho.house_key is not null and k.residency_status in ('人户一致', '人在户不在') as is_registered_resident,
    ho.house_key is not null and k.residency_status = '流入人口' as is_floating_resident,
    k.residency_status in ('人户一致', '人在户不在', '户在人不在') as is_registered_in_city,
    a.source_records,
    a.household_records,
    a.party_records,
    a.min_match_score
from ranked k
join agg a on a.person_key = k.person_key
left join home ho on ho.person_key = k.person_key
where k.pref = 1
