"""Waiting for orders: `OrderWaiter` records share one `PollScheduler` per client."""
