"""The session layer: one aiohttp session, auth, rate limits, retries, error mapping."""
