"""The right to erasure (docs/privacy.md#erasure): requests in, every trace of the customers out.

`requests` reads who is to be erased; `suppression` keeps the keyed hashes of erased customers
(so a later delivery of their rows is dropped at ingest) and the erasure log; `rows` removes
their rows from every table of the warehouse; `traces` redacts them from the files beside it
(Data Docs, validation results, alerts) and from Dagster's storage; `erase` puts it together.
"""
