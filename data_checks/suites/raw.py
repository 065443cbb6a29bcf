"""Expectations for the raw sources, as loaded from the landing files.

Staging cleans a little dirt (null keys, repeated records, clock errors), so those expectations
tolerate a small share of bad rows (`Thresholds`); rules staging cannot repair (unknown status
values, non-positive prices, impossible dates) tolerate none.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import great_expectations.expectations as gxe

from data_checks.thresholds import Thresholds
from data_checks.validation import Batch

SCHEMA = "raw"
HOURS_AFTER_LOAD = "_hours_after_load"
ROWS_WITH_KEY = "rows_with_key"


@dataclass(frozen=True)
class RawRules:
    """What each row of a raw source must satisfy besides its contract columns and types."""

    key: tuple[str, ...]
    not_null: tuple[str, ...] = ()
    timestamp: str | None = None
    allowed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    positive: tuple[str, ...] = ()
    fractions: tuple[str, ...] = ()


RAW_RULES: dict[str, RawRules] = {
    "customers": RawRules(key=("customer_id",), timestamp="signup_at"),
    "products": RawRules(key=("product_id",), positive=("list_price",)),
    "orders": RawRules(
        key=("order_id",),
        not_null=("customer_id",),
        timestamp="ordered_at",
        allowed={"status": ("completed", "cancelled", "returned")},
    ),
    "order_items": RawRules(
        key=("order_id", "line_number"), positive=("unit_price",), fractions=("discount",)
    ),
    "web_events": RawRules(
        key=("event_id",),
        timestamp="event_at",
        allowed={"event_type": ("page_view", "click", "add_to_cart", "purchase")},
    ),
    "campaign_events": RawRules(
        key=("event_id",),
        not_null=("customer_id",),
        timestamp="event_at",
        allowed={"channel": ("email", "ads"), "event_type": ("send", "open", "click", "convert")},
    ),
    "social_interactions": RawRules(
        key=("interaction_id",),
        not_null=("customer_id",),
        timestamp="occurred_at",
        allowed={"interaction_type": ("like", "share", "comment", "mention")},
    ),
}


def raw_batches(
    table: str, contract: Mapping[str, str], thresholds: Thresholds, rows: str | None = None
) -> list[Batch]:
    """Batches validating `raw.<table>` against its contract (column name -> type) and rules,
    on `rows` (a SQL relation; by default the whole table). See `unvalidated_rows_with_sample`."""
    rules = RAW_RULES[table]
    validated, copy_rows = _validated_rows(table, rows)
    batches = [
        _schema_batch(table, contract),
        _rows_batch(
            table,
            rules,
            thresholds,
            validated,
            [*copy_rows, _shared_keys_statement(table, rules.key, validated)],
        ),
    ]
    if table == "campaign_events":
        customers = (
            "customer_id is not null"
            if rows is None
            else f"customer_id in (select customer_id from {validated} as validated)"
        )
        batches.append(_campaign_funnel_batch(thresholds, customers, copy_rows))
    return batches


def unvalidated_rows_with_sample(table: str, unvalidated: str, sample_rows: int = 100_000) -> str:
    """The rows not yet validated (`unvalidated`: a SQL condition on the table's rows), and a
    seeded sample of the rows validated before.

    Every new row is checked against every rule, so a bad value in today's file cannot pass;
    the tolerances that are shares (dirty keys, duplicates, clock errors) are measured against
    the table, as on a full validation, instead of against a small daily file, where two
    duplicates among nine sign-ups would be 22 % (the sample stands for the table). The whole
    history is not read into memory again every day. (The sample is drawn from the older rows:
    DuckDB samples a FROM clause before its WHERE.)"""
    return (
        f"(select * from {SCHEMA}.{table} where {unvalidated} union all "
        f"(select * from (select * from {SCHEMA}.{table} where not ({unvalidated})) "
        f"using sample reservoir({sample_rows} rows) repeatable (42)))"
    )


def _validated_rows(table: str, rows: str | None) -> tuple[str, list[str]]:
    """The relation the batches read, and the statements that create it: the table itself, or
    `rows` copied once into a temporary table, so that every batch and expectation sees the same
    sample and none re-runs it."""
    if rows is None:
        return f"{SCHEMA}.{table}", []
    copy = f"{table}_validated_rows"
    return copy, [f"create temp table if not exists {copy} as select * from {rows} as sampled"]


def _shared_keys(table: str) -> str:
    return f"{table}_shared_keys"


def _shared_keys_statement(table: str, key: Sequence[str], validated: str) -> str:
    """A temporary table of the keys found on more than one validated row, with their row count.
    One aggregation: GX's uniqueness expectations count each key with a window function in every
    metric query, three full passes over 21M campaign events (18 of the table's 28 s)."""
    columns = ", ".join(key)
    return (
        f"create temp table if not exists {_shared_keys(table)} as "
        f"select {columns}, count(*) as {ROWS_WITH_KEY} from {validated} "
        f"group by {columns} having count(*) > 1"
    )


def _schema_batch(table: str, contract: Mapping[str, str]) -> Batch:
    return Batch(
        suite=f"{SCHEMA}.{table}.columns",
        table=f"{SCHEMA}.{table}",
        query=(
            "select column_name || ' ' || lower(data_type) as column_and_type "
            "from information_schema.columns "
            f"where table_schema = '{SCHEMA}' and table_name = '{table}'"
        ),
        expectations=[
            gxe.ExpectColumnDistinctValuesToContainSet(
                column="column_and_type",
                value_set=sorted(f"{name} {kind.lower()}" for name, kind in contract.items()),
                description=f"{SCHEMA}.{table} must have every contract column with its type",
            )
        ],
    )


def _rows_batch(
    table: str, rules: RawRules, thresholds: Thresholds, validated: str, prepare: Sequence[str]
) -> Batch:
    clean = 1 - thresholds.max_dirty_row_share
    columns = [*rules.key, *rules.not_null, *rules.positive, *rules.fractions]
    columns += [f"lower(trim({column})) as {column}" for column in rules.allowed]
    copies = "rows_with_same_" + "_and_".join(rules.key)  # the failure message names the key
    columns.append(f"coalesce({ROWS_WITH_KEY}, 1) as {copies}")
    expectations: list = [gxe.ExpectTableRowCountToBeBetween(min_value=1)]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=clean)
        for column in (*rules.key, *rules.not_null)
    ]
    # Rows whose key is on another row too; rows without a key count as unique here (the
    # not-null expectation counts them).
    expectations.append(
        gxe.ExpectColumnValuesToBeBetween(
            column=copies, max_value=1, mostly=1 - thresholds.max_duplicate_key_share
        )
    )
    if rules.timestamp:
        hours = rules.timestamp + HOURS_AFTER_LOAD
        columns.append(f"(epoch({rules.timestamp}) - epoch(_loaded_at)) / 3600.0 as {hours}")
        expectations += [
            gxe.ExpectColumnValuesToBeBetween(
                column=hours, max_value=thresholds.future_tolerance_hours, mostly=clean
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column=hours, max_value=thresholds.max_future_days * 24
            ),
        ]
    expectations += [
        gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values))
        for column, values in rules.allowed.items()
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, strict_min=True)
        for column in rules.positive
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1)
        for column in rules.fractions
    ]
    return Batch(
        suite=f"{SCHEMA}.{table}",
        table=f"{SCHEMA}.{table}",
        query=f"select {', '.join(dict.fromkeys(columns))} from {validated} as validated "
        f"left join {_shared_keys(table)} using ({', '.join(rules.key)})",
        expectations=expectations,
        row_id=rules.key[0],
        prepare=tuple(prepare),
    )


def _campaign_funnel_batch(thresholds: Thresholds, customers: str, prepare: Sequence[str]) -> Batch:
    """Per customer with validated rows (`customers`: a condition on campaign events), campaigns
    opened or clicked must have been sent to them (counting all their events): more clicks than
    sends would give rates above 1 (the features count reactions to sent campaigns only)."""
    consistent = 1 - thresholds.max_rate_violation_share
    return Batch(
        suite=f"{SCHEMA}.campaign_events.funnel",
        table=f"{SCHEMA}.campaign_events",
        # Per customer and campaign first, then per customer: three distinct counts over 21M
        # events took 7-9 s at 1M customers, this 3 s, for the same numbers. (GX takes a query
        # only if it starts with SELECT: no CTE.)
        query=f"""
            select
                customer_id,
                count(*) filter (where is_sent) as campaigns_sent,
                count(*) filter (where is_opened) as campaigns_opened,
                count(*) filter (where is_clicked) as campaigns_clicked
            from (
                select
                    customer_id,
                    bool_or(event_type = 'send') as is_sent,
                    bool_or(event_type = 'open') as is_opened,
                    bool_or(event_type = 'click') as is_clicked
                from (
                    select customer_id, campaign_id, lower(trim(event_type)) as event_type
                    from {SCHEMA}.campaign_events
                    where {customers}
                ) as events
                where campaign_id is not null
                group by customer_id, campaign_id
            ) as reactions
            group by customer_id
        """,
        expectations=[
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="campaigns_sent", column_B=reaction, or_equal=True, mostly=consistent
            )
            for reaction in ("campaigns_opened", "campaigns_clicked")
        ],
        row_id="customer_id",
        materialize=True,
        prepare=tuple(prepare),
    )
