"""Mapping expressions are data: each is parsed (sqlglot, DuckDB dialect) and accepted only when
it is one scalar expression over the file's own columns built from an allow-list.

Allowed: column names (unqualified), literals, arithmetic, comparison and boolean operators,
LIKE/ILIKE/IN (a list of values)/BETWEEN/IS, casts, CASE and IF, window functions, and the
string, number and date functions a column conversion needs. Everything else is refused before
any file is read: a second statement (`;`), subqueries, table and file functions (`read_csv`,
`read_text`, `query`), settings (`current_setting`), `COPY`, `ATTACH`, `SET`, environment
access. The loader also reads user files on a DuckDB connection that can reach nothing but
their folder (sandbox.py), so an expression that slipped through could still read no other file.
"""

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

STRUCTURE: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.DataType,
    exp.DataTypeParam,
    exp.Cast,
    exp.TryCast,
    exp.Case,
    exp.If,
    exp.Paren,
    exp.Not,
    exp.Neg,
    exp.And,
    exp.Or,
    exp.Xor,
    exp.EQ,
    exp.NEQ,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.Like,
    exp.ILike,
    exp.In,
    exp.Between,
    exp.DPipe,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.Window,
    exp.WindowSpec,
    exp.Order,
    exp.Ordered,
    exp.Var,
    exp.Tuple,
)
"""Operators and syntax: none of them reads anything but the row (and its window)."""

FUNCTIONS: tuple[type[exp.Expression], ...] = (
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Substring,
    exp.Concat,
    exp.ConcatWs,
    exp.Coalesce,
    exp.Nullif,
    exp.RegexpReplace,
    exp.RegexpExtract,
    exp.RegexpLike,
    exp.SplitPart,
    exp.Left,
    exp.Right,
    exp.Length,
    exp.StartsWith,
    exp.Pad,
    exp.Replace,
    exp.Round,
    exp.Abs,
    exp.Floor,
    exp.Ceil,
    exp.Greatest,
    exp.Least,
    exp.StrToTime,
    exp.TimeToStr,
    exp.TimestampTrunc,
    exp.DateTrunc,
    exp.DateFromParts,
    exp.UnixToTime,
    exp.Extract,
    exp.MD5,
    exp.RowNumber,
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.Sum,
    exp.Count,
    exp.Min,
    exp.Max,
    exp.Avg,
)
"""Functions sqlglot knows by name that compute from their arguments alone."""

DUCKDB_FUNCTIONS = frozenset(
    {
        "strip_accents",
        "lpad",
        "rpad",
        "ltrim",
        "rtrim",
        "contains",
        "ends_with",
        "try_strptime",
        "make_timestamp",
        "date_part",
        "datepart",
        "ifnull",
        "nvl",
        "sign",
        "trunc",
        "regexp_full_match",
        "suffix",
        "prefix",
        "strlen",
        "reverse",
        "repeat",
        "initcap",
    }
)
"""DuckDB functions sqlglot parses as unknown (Anonymous), allowed by name."""


class UnsafeExpressionError(ValueError):
    """The expression is not a plain scalar expression over the file's columns; the message says
    what was found (the caller adds the mapping file and key)."""


def check_expression(text: str) -> None:
    """Raises UnsafeExpressionError unless `text` is one allowed scalar expression."""
    try:
        tokens = Dialect.get_or_raise("duckdb").tokenize(text)
        parsed = sqlglot.parse(text, read="duckdb")
    except (ParseError, TokenError) as error:
        raise UnsafeExpressionError(f"not a SQL expression ({_first_line(error)})") from error
    if any(token.token_type == TokenType.SEMICOLON for token in tokens):
        raise UnsafeExpressionError(
            "';' is not allowed: an expression is one value, not statements"
        )
    if len(parsed) != 1 or parsed[0] is None:
        raise UnsafeExpressionError("expected exactly one expression")
    for node in parsed[0].walk():
        _check_node(node)


def _check_node(node: exp.Expression) -> None:
    if isinstance(node, exp.Column) and (node.table or node.args.get("db")):
        raise UnsafeExpressionError(
            f"'{node.sql(dialect='duckdb')}' names a table; refer to the file's columns only"
        )
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name not in DUCKDB_FUNCTIONS:
            raise UnsafeExpressionError(f"function {name}() is not allowed{_allowed_hint()}")
        return
    if isinstance(node, STRUCTURE + FUNCTIONS):
        return
    if isinstance(node, exp.Func):
        raise UnsafeExpressionError(
            f"function {node.sql_name().lower()}() is not allowed{_allowed_hint()}"
        )
    raise UnsafeExpressionError(f"{_what(node)} is not allowed in a mapping expression")


def _what(node: exp.Expression) -> str:
    if isinstance(node, exp.Query | exp.Subquery):
        return "a query (SELECT or subquery)"
    if isinstance(node, exp.Table):
        return "a table or file reference"
    return f"'{node.key}' ({node.sql(dialect='duckdb')[:60]})"


def _allowed_hint() -> str:
    return (
        "; use column names, operators, casts, CASE, window functions and string, number and "
        "date functions (docs/own-data.md lists them)"
    )


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200]
