-- One row per minute of the day (time_key = hour * 100 + minute, UTC).
with minutes as (
    select unnest(range(0, 1440)) as minute_of_day
)

select
    ((minute_of_day // 60) * 100 + minute_of_day % 60)::integer as time_key,
    (minute_of_day // 60)::integer as hour,
    (minute_of_day % 60)::integer as minute,
    minute_of_day::integer as minute_of_day,
    case
        when minute_of_day < 360 then 'night'
        when minute_of_day < 720 then 'morning'
        when minute_of_day < 1080 then 'afternoon'
        else 'evening'
    end as day_part
from minutes
