{#
  SCD2 validity for a versioned dimension: per entity, versions ordered by valid_from never
  overlap and leave no gap (each valid_to equals the next valid_from), valid_from <= valid_to,
  and exactly the last version is open (valid_to null) and flagged current.
  Returns the offending versions.
#}
{% test scd2_valid_ranges(model, entity_key, valid_from='valid_from', valid_to='valid_to', is_current='is_current') %}
with ordered as (
    select
        {{ entity_key }} as entity,
        {{ valid_from }} as valid_from,
        {{ valid_to }} as valid_to,
        {{ is_current }} as is_current,
        lead({{ valid_from }}) over (partition by {{ entity_key }} order by {{ valid_from }}, {{ valid_to }} nulls last) as next_valid_from
    from {{ model }}
)
select *
from ordered
where (next_valid_from is not null and (valid_to is null or valid_to <> next_valid_from))  -- overlap or gap
   or (next_valid_from is null and valid_to is not null)                                  -- last version closed
   or (valid_to is not null and valid_to < valid_from)                                    -- negative range
   or (is_current <> (valid_to is null))                                                  -- wrong current flag
{% endtest %}
