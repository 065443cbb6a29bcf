{#- The consent policy (var `consent_policy`, docs/privacy.md) decides who may be profiled:
    `exclude` (default) profiles only customers who gave marketing consent;
    `profile_all_activate_consented` profiles everyone (legitimate interest as the legal basis for
    analytics) and leaves activation to consenting customers only. -#}

{% macro consent_policy() -%}
    {%- set policy = var('consent_policy', 'exclude') -%}
    {%- if policy not in ['exclude', 'profile_all_activate_consented'] -%}
        {{ exceptions.raise_compiler_error(
            "consent_policy must be exclude or profile_all_activate_consented, got '" ~ policy ~ "'"
        ) }}
    {%- endif -%}
    {{ return(policy) }}
{%- endmacro %}

{#- Whether a customer with this consent flag may be profiled (segmented, scored, published). -#}
{% macro may_profile(consent_column) -%}
    {%- if consent_policy() == 'exclude' -%}
        coalesce({{ consent_column }}, false)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
