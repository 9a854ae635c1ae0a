{#
  SCD type 2 versions of an entity from its stream of full-state profile events.
  A new version starts only when the hash of `attributes` differs from the entity's previous event
  (re-sent or no-op updates make no version); a version is valid from its first event's time until
  the next version's start (`valid_to` null = current).
#}
{% macro scd2_versions(relation, entity_key, attributes) %}
with profile_events as (
    select
        *,
        md5(concat_ws('|', {% for column in attributes %}coalesce(cast({{ column }} as {{ dbt.type_string() }}), '<null>'){% if not loop.last %}, {% endif %}{% endfor %})) as attributes_hash
    from {{ relation }}
),

changes as (
    select
        *,
        lag(attributes_hash) over (partition by {{ entity_key }} order by event_time, event_id) as previous_attributes_hash
    from profile_events
),

versions as (
    select * from changes
    where previous_attributes_hash is null or previous_attributes_hash <> attributes_hash
)

select
    md5({{ entity_key }} || '|' || event_id) as {{ entity_key | replace('_id', '') }}_version_key,
    {{ entity_key }},
    {% for column in attributes %}{{ column }},
    {% endfor %}event_time as valid_from,
    lead(event_time) over (partition by {{ entity_key }} order by event_time, event_id) as valid_to,
    lead(event_time) over (partition by {{ entity_key }} order by event_time, event_id) is null as is_current,
    cast(row_number() over (partition by {{ entity_key }} order by event_time, event_id) as {{ dbt.type_int() }}) as version_number,
    attributes_hash,
    event_id as source_event_id
from versions
{% endmacro %}

{#
  The rows of `versions` (a CTE) that the incremental dimension `this` lacks or holds differently:
  new versions, and versions closed since (valid_to / is_current changed). Merged on the version key,
  they change exactly what changed; with nothing new they are empty and nothing is written.
#}
{% macro scd2_changes(versions, version_key) %}
    select versions.*
    from {{ versions }} as versions
    left join {{ this }} as existing
        on existing.{{ version_key }} = versions.{{ version_key }}
    where existing.{{ version_key }} is null
       or existing.valid_to is distinct from versions.valid_to
       or existing.is_current <> versions.is_current
{% endmacro %}

{# Join condition: the version of `dim` (alias) valid at `ts` for the entity `entity_expr`. #}
{% macro valid_version(dim, entity_key, entity_expr, ts) %}
    {{ dim }}.{{ entity_key }} = {{ entity_expr }}
    and {{ ts }} >= {{ dim }}.valid_from
    and ({{ dim }}.valid_to is null or {{ ts }} < {{ dim }}.valid_to)
{% endmacro %}
