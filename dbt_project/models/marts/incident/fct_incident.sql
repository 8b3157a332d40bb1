-- One row per grid event (事件) in its latest state, with workflow times, deadline and grid.
-- Open tier: the free-text description and address are left out.
select
    incident_id,
    channel,
    category_major,
    category_minor,
    reported_at,
    dispatched_at,
    feedback_at,
    closed_at,
    clock_stopped_at,
    status,
    cast(time_limit_hours as double) as time_limit_hours,
    deadline_at,
    is_overdue,
    returned_count,
    department,
    satisfaction,
    grid_code,
    grid_match_rule,
    cast(grid_match_score as double) as grid_match_score,
    lon_wgs84,
    lat_wgs84
from {{ ref('int_incidents_timed') }}
