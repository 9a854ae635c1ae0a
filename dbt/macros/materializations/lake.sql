{#
  DuckDB: every table and incremental model is written to the lake as a Delta table through delta-rs
  (lakehouse/dbt_plugin.py), never into DuckDB; its DuckDB relation is a view over the Delta snapshot.
  The config keys are dbt-spark's, so a model means the same on Spark (where dbt-spark's own
  materializations write the Delta table): partition_by, incremental_strategy (append | merge),
  unique_key, incremental_predicates; plus merge_on_match (update | ignore, see spark__get_merge_sql).
#}
{% macro lake_store(strategy) %}
    {%- set target_relation = this.incorporate(type='view') -%}
    {{ run_hooks(pre_hooks) }}
    {% do adapter.store_relation('lake', target_relation, [], target_relation.render(), 'delta', {
        'sql': sql,
        'strategy': strategy,
        'partition_by': config.get('partition_by'),
        'unique_key': config.get('unique_key'),
        'incremental_predicates': config.get('incremental_predicates'),
        'merge_on_match': config.get('merge_on_match'),
    }) %}
    {% do adapter.cache_added(target_relation) %}
    {% call statement('main') %}select 1 as stored_in_delta{% endcall %}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{% endmacro %}

{% materialization table, adapter='duckdb' %}
    {{ return(lake_store('overwrite')) }}
{% endmaterialization %}

{% materialization incremental, adapter='duckdb' %}
    {%- set strategy = config.get('incremental_strategy') or 'append' -%}
    {%- if strategy not in ('append', 'merge') -%}
        {{ exceptions.raise_compiler_error("incremental_strategy must be append or merge for a Delta model, not " ~ strategy) }}
    {%- endif -%}
    {{ return(lake_store(strategy if is_incremental() else 'overwrite')) }}
{% endmaterialization %}

{#
  The relation of a DuckDB lake model is a view over Delta, not a table: incremental means "the model
  exists (in the lake) and this is no full refresh", on both engines.
#}
{% macro is_incremental() %}
    {% if not execute %}
        {{ return(false) }}
    {% endif %}
    {% set relation = adapter.get_relation(this.database, this.schema, this.table) %}
    {{ return(relation is not none and model.config.materialized == 'incremental' and not should_full_refresh()) }}
{% endmacro %}

{#
  dbt-spark's Delta MERGE, plus `merge_on_match: ignore` (no WHEN MATCHED clause: the target row stays,
  as delta_store does on DuckDB) for de-duplication.
#}
{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) %}
    {%- set predicates = [] if incremental_predicates is none else [] + incremental_predicates -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- for key in keys -%}
        {%- do predicates.append('DBT_INTERNAL_SOURCE.' ~ key ~ ' = DBT_INTERNAL_DEST.' ~ key) -%}
    {%- endfor -%}
    merge into {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    on {{ predicates | join(' and ') }}
    {% if config.get('merge_on_match', 'update') == 'update' %}when matched then update set *{% endif %}
    when not matched then insert *
{% endmacro %}
