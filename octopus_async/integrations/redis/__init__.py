"""One login, one quota and one webhook de-duplication for a fleet, kept in Redis
(`pip install 'octopus-async[redis]'`)."""

from .events import RedisEventStore
from .ratelimit import RedisRateLimiter
from .tokens import RedisTokenStore

__all__ = ["RedisEventStore", "RedisRateLimiter", "RedisTokenStore"]
