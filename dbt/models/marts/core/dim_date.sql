-- One row per calendar day from the first to the last event date in silver (no hard-coded range).
with event_dates as (
    select event_date from {{ ref('stg_bronze__trip_events') }}
    union all select event_date from {{ ref('stg_bronze__payments') }}
    union all select event_date from {{ ref('stg_bronze__driver_status_changes') }}
    union all select event_date from {{ ref('stg_bronze__surge_updates') }}
    union all select event_date from {{ ref('stg_bronze__ratings') }}
),

bounds as (
    select min(event_date) as first_day, max(event_date) as last_day from event_dates
),

days as (
    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as date_day
    from bounds
    where first_day is not null
)

select
    cast(strftime(date_day, '%Y%m%d') as integer) as date_key,
    date_day,
    extract(year from date_day)::integer as year,
    extract(quarter from date_day)::integer as quarter,
    extract(month from date_day)::integer as month,
    monthname(date_day) as month_name,
    extract(day from date_day)::integer as day_of_month,
    isodow(date_day)::integer as iso_day_of_week,
    dayname(date_day) as day_name,
    weekofyear(date_day)::integer as iso_week,
    isodow(date_day) in (6, 7) as is_weekend
from days
