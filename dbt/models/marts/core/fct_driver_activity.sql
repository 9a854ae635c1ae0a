-- One row per driver status interval: from a status change until the driver's next change (open when none yet).
{{ config(partition_by=['date_key']) }}

with changes as (
    select
        *,
        lead(event_time) over (partition by driver_id order by event_time, event_id) as interval_end
    from {{ ref('driver_status_changes') }}
),

drivers as (
    select * from {{ ref('dim_driver') }}
)

select
    changes.event_id as activity_id,
    changes.driver_id,
    drivers.driver_version_key,
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
left join drivers
    on {{ valid_version('drivers', 'driver_id', 'changes.driver_id', 'changes.event_time') }}
