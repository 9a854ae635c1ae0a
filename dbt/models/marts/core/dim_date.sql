-- One row per calendar day from the first to the last event date in silver (no hard-coded range).
with event_dates as (
    select event_date from {{ ref('trip_events') }}
    union all select event_date from {{ ref('payments') }}
    union all select event_date from {{ ref('driver_status_changes') }}
    union all select event_date from {{ ref('surge_updates') }}
    union all select event_date from {{ ref('ratings') }}
),

bounds as (
    select min(event_date) as first_day, max(event_date) as last_day
    from event_dates
    having count(*) > 0
),

days as (
    {{ days_between('first_day', 'last_day', 'bounds') }}
),

calendar as (
    select
        {{ date_key('date_day') }} as date_key,
        date_day,
        cast(extract(year from date_day) as {{ dbt.type_int() }}) as year,
        cast(extract(quarter from date_day) as {{ dbt.type_int() }}) as quarter,
        cast(extract(month from date_day) as {{ dbt.type_int() }}) as month,
        cast(extract(day from date_day) as {{ dbt.type_int() }}) as day_of_month,
        {{ iso_day_of_week('date_day') }} as iso_day_of_week,
        cast(weekofyear(date_day) as {{ dbt.type_int() }}) as iso_week
    from days
)

select
    *,
    case month
        when 1 then 'January' when 2 then 'February' when 3 then 'March' when 4 then 'April'
        when 5 then 'May' when 6 then 'June' when 7 then 'July' when 8 then 'August'
        when 9 then 'September' when 10 then 'October' when 11 then 'November' else 'December'
    end as month_name,
    case iso_day_of_week
        when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday' when 4 then 'Thursday'
        when 5 then 'Friday' when 6 then 'Saturday' else 'Sunday'
    end as day_name,
    iso_day_of_week in (6, 7) as is_weekend
from calendar
