# Written by the djangoprod.stack app role next to the production settings.
"""A Redis cache backend the site keeps working without.

Django's RedisCache raises when Redis cannot be reached, so a stopped or unreachable
cache server turns every page that touches the cache (cached sessions included) into
an error. This backend answers as an empty cache instead: reads miss, writes are
dropped, and the site runs on its database, slower but up. After a failure it stops
trying for OUTAGE_SECONDS, so requests do not each wait for a connection timeout, and
it logs one warning per outage on the `djangoprod.cache` logger.
"""

import logging
import time

from django.core.cache.backends.redis import RedisCache as _DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

logger = logging.getLogger("djangoprod.cache")

OUTAGE_SECONDS = 5.0

_MISSING = object()


class ResilientRedisCacheClient(RedisCacheClient):
    """RedisCacheClient whose operations fall back to what an empty cache answers."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._down_until = 0.0

    def _guarded(self, operation, fallback, *args, **kwargs):
        import redis  # the client library; imported with the backend

        if time.monotonic() < self._down_until:
            return fallback
        try:
            return getattr(super(), operation)(*args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            logger.warning("cache unreachable (%s); serving without it for %ss", error, OUTAGE_SECONDS)
            self._down_until = time.monotonic() + OUTAGE_SECONDS
            return fallback

    def add(self, key, value, timeout):
        return self._guarded("add", False, key, value, timeout)

    def get(self, key, default):
        return self._guarded("get", default, key, default)

    def set(self, key, value, timeout):
        return self._guarded("set", None, key, value, timeout)

    def touch(self, key, timeout):
        return self._guarded("touch", False, key, timeout)

    def delete(self, key):
        return self._guarded("delete", False, key)

    def get_many(self, keys):
        return self._guarded("get_many", {}, keys)

    def has_key(self, key):
        return self._guarded("has_key", False, key)

    def incr(self, key, delta):
        value = self._guarded("incr", _MISSING, key, delta)
        if value is _MISSING:  # as for a key that is not there
            raise ValueError(f"Key '{key}' not found.")
        return value

    def set_many(self, data, timeout):
        return self._guarded("set_many", None, data, timeout)

    def delete_many(self, keys):
        return self._guarded("delete_many", None, keys)

    def clear(self):
        return self._guarded("clear", False)


class RedisCache(_DjangoRedisCache):
    """django.core.cache.backends.redis.RedisCache that degrades to an empty cache."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
