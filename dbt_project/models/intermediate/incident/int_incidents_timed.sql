-- Latest state of every event with its workflow timestamps, deadline and overdue flag.
-- Deadline (处置时限) runs from the first 派遣:
--   突发事件: continuous (calendar hours);
--   others:   only on working days of int_workday_calendar, 24 h a day; a dispatch on a rest
--             day starts the clock at 00:00 of the next working day.
-- Working-time position of an instant t: W(t) = 24 * workdays_before(date(t)) + (hours since
-- midnight if date(t) is a working day else 0). The deadline is the first instant with
-- W = W(dispatch) + limit: working day number ceil(T / 24) - 1 at T - 24 * that number hours.
-- The clock stops at the first 反馈 after that 派遣, else at 结案; overdue when it stopped after
-- the deadline, or has not stopped and the latest incident extraction (local time) is past it.
with ev as (
    select * from {{ ref('int_event_records_latest') }}
),
steps as (
    select * from {{ ref('int_incident_steps_summary') }}
),
cal as (
    select * from {{ ref('int_workday_calendar') }}
),
as_of as (
    select {{ onegrid.utc_to_cst('max(_extracted_at)') }} as as_of_local
    from {{ ref('stg_incident__events') }}
),
start_pos as (
    select
        s.record_id,
        24.0 * c.workdays_before
          + case when c.is_workday
                 then {{ onegrid.hours_between(dbt.date_trunc('day', 's.dispatched_at'), 's.dispatched_at') }}
                 else 0 end as w_start
    from steps s
    join cal c on c.calendar_date = cast(s.dispatched_at as date)
    where s.dispatched_at is not null
),
target as (
    select
        sp.record_id,
        sp.w_start + ev.time_limit_hours as w_target,
        cast(ceil((sp.w_start + ev.time_limit_hours) / 24.0) as bigint) - 1 as target_seq
    from start_pos sp
    join ev on ev.record_id = sp.record_id
    where ev.time_limit_hours is not null
),
working_deadline as (
    select
        t.record_id,
        {{ onegrid.add_hours('cast(c.calendar_date as timestamp)', 't.w_target - 24.0 * t.target_seq') }} as deadline_at
    from target t
    join cal c on c.workday_seq = t.target_seq
),
timed as (
    select
        ev.record_id as incident_id,
        ev.channel,
        ev.category_major,
        ev.category_minor,
        ev.reported_at,
        ev.status,
        ev.satisfaction,
        ev.time_limit_hours,
        ev.lon_wgs84,
        ev.lat_wgs84,
        ev.crs,
        ev.legacy_system,
        ev.legacy_code,
        ev.address,
        s.accepted_at,
        s.dispatched_at,
        s.dispatch_department,
        coalesce(s.handling_department, s.dispatch_department) as department,
        s.feedback_at,
        s.closed_at,
        cast(coalesce(s.returned_count, 0) as bigint) as returned_count,
        ev.category_major = '突发事件' as is_continuous_clock,
        case
            when s.dispatched_at is null or ev.time_limit_hours is null then null
            when ev.category_major = '突发事件' then {{ onegrid.add_hours('s.dispatched_at', 'ev.time_limit_hours') }}
            else wd.deadline_at
        end as deadline_at,
        case when s.dispatched_at is not null then coalesce(s.feedback_at, s.closed_at) end as clock_stopped_at,
        a.as_of_local,
        ev._delivery_id,
        ev._extracted_at
    from ev
    left join steps s on s.record_id = ev.record_id
    left join working_deadline wd on wd.record_id = ev.record_id
    cross join as_of a
)
select
    timed.*,
    case
        when deadline_at is null then false
        when clock_stopped_at is not null then clock_stopped_at > deadline_at
        else as_of_local > deadline_at
    end as is_overdue,
    p.grid_code,
    p.grid_match_rule,
    p.grid_match_score
from timed
left join {{ ref('int_incident_placement') }} p on p.record_id = timed.incident_id
