"""The identifiers an export carries: the pseudonymous customer id always, and on request the
SHA-256 of the normalised email (trimmed, lower case), which ad platforms match audiences on.

The email hash is computed here, at export time, from schema raw (the only place the email is),
for the exported customers only; it is written to the export files and nowhere in the warehouse.
When the CRM exported a customer twice, the record staging keeps (the latest consent change) wins.
"""

import duckdb
import pandas as pd

from dagster_project.lib.names import RAW_SCHEMA

RAW_CUSTOMERS = f"{RAW_SCHEMA}.customers"


def with_identifiers(
    conn: duckdb.DuckDBPyConnection, customer_ids: pd.Series, identifiers: tuple[str, ...]
) -> pd.DataFrame:
    """One row per customer of `customer_ids`, sorted, with a column per identifier."""
    frame = pd.DataFrame({"customer_id": customer_ids.sort_values().to_numpy(dtype=object)})
    if "email_sha256" not in identifiers:
        return frame
    conn.register("exported", frame)
    try:
        return conn.execute(
            f"""
            with latest as (
                select trim(customer_id) as customer_id,
                       nullif(lower(trim(email)), '') as email
                from {RAW_CUSTOMERS}
                where trim(customer_id) in (select customer_id from exported)
                qualify row_number() over (
                    partition by trim(customer_id)
                    order by consent_updated_at desc nulls last, signup_at
                ) = 1
            )
            select exported.customer_id, sha256(latest.email) as email_sha256
            from exported left join latest using (customer_id)
            order by exported.customer_id
            """
        ).df()
    finally:
        conn.unregister("exported")
