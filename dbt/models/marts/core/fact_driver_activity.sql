-- One row per driver status interval: from a status change until the driver's next change (open when none yet).
with changes as (
    select
        *,
        lead(event_time) over (partition by driver_id order by event_time, event_id) as interval_end
    from {{ ref('stg_bronze__driver_status_changes') }}
)

select
    changes.event_id as activity_id,
    changes.driver_id,
    driver.driver_version_key,
    changes.new_status as status,
    changes.previous_status,
    changes.reason,
    changes.zone_id,
    changes.trip_id,
    {{ date_key('changes.event_time') }} as date_key,
    {{ time_key('changes.event_time') }} as time_key,
    changes.event_time as interval_start,
    changes.interval_end,
    changes.interval_end is null as is_open,
    {{ seconds_between('changes.event_time', 'changes.interval_end') }} as duration_s
from changes
left join {{ ref('dim_driver') }} as driver
    on {{ valid_version('driver', 'driver_id', 'changes.driver_id', 'changes.event_time') }}
