{# Rows of `model` where the SQL boolean `expression` is false (nulls pass, as in dbt's own tests). #}
{% test expression_is_true(model, expression) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
