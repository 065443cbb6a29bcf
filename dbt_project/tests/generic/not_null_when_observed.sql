{#- not_null, but only when the model `observed_in` (the staging model of the feature's source)
    has rows: a source the user did not provide leaves the column null for everyone, by design. -#}
{% test not_null_when_observed(model, column_name, observed_in) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is null
    and exists (select 1 from {{ ref(observed_in) }})
{% endtest %}
