-- Surge per zone and hour: how often it changed, its range, and the demand/supply behind it.
with updates as (
    select
        *,
        date_trunc('hour', event_time) as hour_start
    from {{ ref('surge_updates') }}
)

select
    hour_start,
    {{ date_key('hour_start') }} as date_key,
    zone_id,
    count(*) as updates,
    min(surge_multiplier) as min_surge_multiplier,
    round(avg(surge_multiplier), 6) as avg_surge_multiplier,
    max(surge_multiplier) as max_surge_multiplier,
    max_by(surge_multiplier, event_time) as last_surge_multiplier,
    round(avg(demand_count), 6) as avg_demand_count,
    round(avg(supply_count), 6) as avg_supply_count
from updates
group by hour_start, zone_id
