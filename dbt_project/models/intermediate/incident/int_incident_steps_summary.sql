-- Workflow timestamps of each event's latest state (流转记录 of the delivery that carried it):
-- first 派遣, first 反馈 after that 派遣, first 结案, number of 退回, handling department.
with latest as (
    select record_id, _delivery_id from {{ ref('int_event_records_latest') }}
),
steps as (
    select s.*
    from {{ ref('stg_incident__event_steps') }} s
    join latest l on l.record_id = s.record_id and l._delivery_id = s._delivery_id
),
first_dispatch as (
    select record_id, step_seq as dispatch_seq, step_at as dispatched_at, department as dispatch_department
    from (
        select *, row_number() over (partition by record_id order by step_seq) as rk
        from steps where step = '派遣'
    ) d where rk = 1
),
last_dispatch as (
    select record_id, department as handling_department
    from (
        select *, row_number() over (partition by record_id order by step_seq desc) as rk
        from steps where step = '派遣'
    ) d where rk = 1
),
agg as (
    select
        s.record_id,
        min(case when s.step = '受理' then s.step_at end) as accepted_at,
        min(case when s.step = '反馈' and s.step_seq > fd.dispatch_seq then s.step_at end) as feedback_at,
        min(case when s.step = '结案' then s.step_at end) as closed_at,
        sum(case when s.step = '退回' then 1 else 0 end) as returned_count,
        count(*) as step_count
    from steps s
    left join first_dispatch fd on fd.record_id = s.record_id
    group by s.record_id
)
select
    a.record_id,
    a.accepted_at,
    fd.dispatched_at,
    fd.dispatch_department,
    ld.handling_department,
    a.feedback_at,
    a.closed_at,
    a.returned_count,
    a.step_count
from agg a
left join first_dispatch fd on fd.record_id = a.record_id
left join last_dispatch ld on ld.record_id = a.record_id
