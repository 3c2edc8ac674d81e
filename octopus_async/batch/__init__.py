"""Batch ordering: many orders from a file or a job, resumable from a journal.

```python
from octopus_async.batch import VoucherOrderRequest

requests = (VoucherOrderRequest(123, "10.00", 1) for _ in range(1000))
async with client.batch(requests, journal="campaign.db") as run:
    async for result in run:
        print(result.row, result.client_reference, result.status)
print(run.summary.counts, run.summary.spent)
```
"""

from .inputs import InputError, InputRow, describe_input, read_rows
from .journal import Journal, JournalError
from .requests import EsimOrderRequest, OrderRequest, TopupOrderRequest, VoucherOrderRequest
from .results import BatchResult, BatchSummary, JournaledError, Status
from .runner import BatchRun

__all__ = [
    "BatchResult",
    "BatchRun",
    "BatchSummary",
    "EsimOrderRequest",
    "InputError",
    "InputRow",
    "Journal",
    "JournalError",
    "JournaledError",
    "OrderRequest",
    "Status",
    "TopupOrderRequest",
    "VoucherOrderRequest",
    "describe_input",
    "read_rows",
]
