-- Every day from the first seeded date to the end of 2030 with its working-day flag from the
-- seed cn_workday_calendar (holidays, 调休 working weekends); days missing from the seed (2027+
-- until operators extend it) count as working days Monday to Friday. workdays_before = number
-- of working days strictly before the date; workday_seq = 0-based index of a working day.
with spine as (
    {{ dbt.date_spine('day', "cast('2004-01-01' as date)", "cast('2031-01-01' as date)") }}
),
days as (
    select
        cast(s.date_day as date) as calendar_date,
        coalesce(c.is_workday, {{ onegrid.day_of_week_iso('s.date_day') }} <= 5) as is_workday,
        coalesce(c.is_holiday, false) as is_holiday,
        c.holiday_name,
        c.note,
        c.date is not null as is_from_seed
    from spine s
    left join {{ ref('cn_workday_calendar') }} c on c.date = cast(s.date_day as date)
)
select
    *,
    coalesce(sum(case when is_workday then 1 else 0 end) over (
        order by calendar_date rows between unbounded preceding and 1 preceding
    ), 0) as workdays_before,
    case when is_workday then
        sum(case when is_workday then 1 else 0 end) over (
            order by calendar_date rows between unbounded preceding and current row) - 1
    end as workday_seq
from days
