-- Incident performance (事件办理情况) by category, minor category, department and channel:
-- volumes, on-time rate and satisfaction rate over all current events.
with f as (select * from {{ ref('int_incidents_timed') }}),
dims as (
    select 'category_major' as dimension, category_major as dimension_value, f.* from f
    union all select 'category_minor', category_major || '/' || category_minor, f.* from f
    union all select 'department', department, f.* from f
    union all select 'channel', channel, f.* from f
)
select
    cast(dimension as varchar) as dimension,
    cast(coalesce(dimension_value, '(none)') as varchar) as dimension_value,
    cast(count(*) as bigint) as incidents,
    cast(sum(case when dispatched_at is not null then 1 else 0 end) as bigint) as dispatched,
    cast(sum(case when status in ('待受理', '处置中') then 1 else 0 end) as bigint) as open,
    cast(sum(case when closed_at is not null then 1 else 0 end) as bigint) as closed,
    cast(sum(case when is_overdue then 1 else 0 end) as bigint) as overdue,
    cast(sum(returned_count) as bigint) as returns,
    cast({{ onegrid.safe_ratio("sum(case when deadline_at is not null and clock_stopped_at is not null and not is_overdue then 1 else 0 end)",
                               "sum(case when deadline_at is not null and clock_stopped_at is not null then 1 else 0 end)") }} as double) as on_time_rate,
    cast({{ onegrid.safe_ratio("sum(case when satisfaction in ('满意', '基本满意') then 1 else 0 end)",
                               "sum(case when satisfaction in ('满意', '基本满意', '不满意') then 1 else 0 end)") }} as double) as satisfaction_rate,
    -- rounded: a parallel floating-point sum differs in its last bits from run to run, and a
    -- published snapshot must be reproducible from the same deliveries
    cast(round(avg(case when clock_stopped_at is not null and dispatched_at is not null
                  then {{ onegrid.hours_between('dispatched_at', 'clock_stopped_at') }} end), 6) as double) as avg_hours_to_stop
from dims
group by dimension, coalesce(dimension_value, '(none)')
