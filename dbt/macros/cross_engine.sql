{#
  The few expressions DuckDB and Spark SQL spell differently, dispatched per engine. Everything else in
  the models is SQL both engines read the same way.
#}

{# The dim_date key, yyyymmdd as an integer (timestamps are UTC in both sessions). #}
{% macro date_key(ts) -%}
    cast(extract(year from {{ ts }}) * 10000 + extract(month from {{ ts }}) * 100 + extract(day from {{ ts }}) as {{ dbt.type_int() }})
{%- endmacro %}

{# The dim_time key, hour * 100 + minute. #}
{% macro time_key(ts) -%}
    cast(extract(hour from {{ ts }}) * 100 + extract(minute from {{ ts }}) as {{ dbt.type_int() }})
{%- endmacro %}

{# Seconds between two timestamps, with millisecond precision (null when either is null). #}
{% macro seconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('seconds_between', 'rideshare')(start_ts, end_ts)) }}
{%- endmacro %}
{% macro duckdb__seconds_between(start_ts, end_ts) -%}
    ((epoch_ms({{ end_ts }}) - epoch_ms({{ start_ts }})) / 1e3)
{%- endmacro %}
{% macro spark__seconds_between(start_ts, end_ts) -%}
    ((unix_millis({{ end_ts }}) - unix_millis({{ start_ts }})) / 1e3)
{%- endmacro %}

{# One row per day from `first_day` to `last_day` (dates), as column `date_day`, selected from `bounds_cte`. #}
{% macro days_between(first_day, last_day, bounds_cte) -%}
    {{ return(adapter.dispatch('days_between', 'rideshare')(first_day, last_day, bounds_cte)) }}
{%- endmacro %}
{% macro duckdb__days_between(first_day, last_day, bounds_cte) -%}
    select cast(unnest(generate_series({{ first_day }}, {{ last_day }}, interval 1 day)) as date) as date_day from {{ bounds_cte }}
{%- endmacro %}
{% macro spark__days_between(first_day, last_day, bounds_cte) -%}
    select explode(sequence({{ first_day }}, {{ last_day }}, interval 1 day)) as date_day from {{ bounds_cte }}
{%- endmacro %}

{# ISO day of week, Monday = 1 ... Sunday = 7. #}
{% macro iso_day_of_week(day) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'rideshare')(day)) }}
{%- endmacro %}
{% macro duckdb__iso_day_of_week(day) -%}
    cast(isodow({{ day }}) as {{ dbt.type_int() }})
{%- endmacro %}
{% macro spark__iso_day_of_week(day) -%}
    cast((dayofweek({{ day }}) + 5) % 7 + 1 as {{ dbt.type_int() }})
{%- endmacro %}

{# Integers 0 .. n-1 as column `n` of a one-column relation. #}
{% macro integers_below(n) -%}
    {{ return(adapter.dispatch('integers_below', 'rideshare')(n)) }}
{%- endmacro %}
{% macro duckdb__integers_below(n) -%}
    select cast(range as {{ dbt.type_int() }}) as n from range(0, {{ n }})
{%- endmacro %}
{% macro spark__integers_below(n) -%}
    select cast(id as {{ dbt.type_int() }}) as n from range(0, {{ n }})
{%- endmacro %}
