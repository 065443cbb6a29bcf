"""Who is to be erased: customer ids and emails, from a requests file or the command line.

A requests file is a CSV with a header holding a `customer_id` column, an `email` column, or
both; each row is one request. Emails are hashed on the way in (the keyed hash of staging's
`email_hash`) and matched against raw.customers; neither value is ever printed or logged.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

REQUEST_COLUMNS = ("customer_id", "email")


class ErasureRequestError(ValueError):
    """A requests file that cannot be read; the message names the file and line, no value."""


@dataclass(frozen=True)
class ErasureRequest:
    customer_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()  # normalised: trimmed, lower case

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "customer_ids", tuple(sorted({c.strip() for c in self.customer_ids if c.strip()}))
        )
        object.__setattr__(
            self, "emails", tuple(sorted({normalised_email(e) for e in self.emails if e.strip()}))
        )

    def __bool__(self) -> bool:
        return bool(self.customer_ids or self.emails)

    def __or__(self, other: "ErasureRequest") -> "ErasureRequest":
        return ErasureRequest(self.customer_ids + other.customer_ids, self.emails + other.emails)


def normalised_email(email: str) -> str:
    """The form staging hashes (stg_shop__customers: trimmed, lower case)."""
    return email.strip().lower()


def read_requests(path: Path) -> ErasureRequest:
    """The requests in the CSV file at `path` (see the module docstring)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            if not set(columns) & set(REQUEST_COLUMNS):
                raise ErasureRequestError(
                    f"{path}: the header must name a customer_id or an email column; it has "
                    f"{', '.join(columns) or 'no columns'}."
                )
            ids: list[str] = []
            emails: list[str] = []
            for line, row in enumerate(reader, start=2):
                values = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                if not values.get("customer_id") and not values.get("email"):
                    raise ErasureRequestError(
                        f"{path}, line {line}: neither customer_id nor email is given."
                    )
                ids += [values["customer_id"]] if values.get("customer_id") else []
                emails += [values["email"]] if values.get("email") else []
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ErasureRequestError(
            f"{path}: cannot read the erasure requests ({type(error).__name__})."
        ) from None
    return ErasureRequest(tuple(ids), tuple(emails))
