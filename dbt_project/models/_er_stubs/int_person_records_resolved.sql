{{ config(enabled=('int_person_records_resolved' in var('er_stubs', [])), schema='intermediate') }}
with h as (select h.address, min(r.house_key) as house_key, min(r.grid_code) as grid_code
           from {{ ref('int_house_records_latest') }} h join {{ ref('int_house_records_resolved') }} r on r.source_record_id = h.record_id group by 1)
select 'household' as source, p.record_id as source_record_id, coalesce(p.id_hash, p._record_key) as person_key,
       h.grid_code, case when p.id_hash is not null then 'id_exact' else 'unresolved' end as match_rule, 1.0 as match_score,
       h.house_key
from {{ ref('int_person_records_latest') }} p left join h on h.address = p.current_address
union all
select 'party', m.record_id, coalesce(m.id_hash, m._record_key), null, 'id_exact', 1.0, null
from {{ ref('int_member_records_latest') }} m
