-- One row per minute of the day (time_key = hour * 100 + minute, UTC).
with minutes as (
    {{ integers_below(1440) }}
)

select
    cast(floor(n / 60) * 100 + n % 60 as {{ dbt.type_int() }}) as time_key,
    cast(floor(n / 60) as {{ dbt.type_int() }}) as hour,
    cast(n % 60 as {{ dbt.type_int() }}) as minute,
    n as minute_of_day,
    case
        when n < 360 then 'night'
        when n < 720 then 'morning'
        when n < 1080 then 'afternoon'
        else 'evening'
    end as day_part
from minutes
