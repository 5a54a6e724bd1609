"""The real Redis server runs Lua scripts atomically, by SHA after SCRIPT LOAD."""

from __future__ import annotations

import pytest
import redis

from tests.random_refs import suffix

pytestmark = pytest.mark.integration

DECR_IF_ENOUGH = """
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left < tonumber(ARGV[1]) then return -1 end
return redis.call('DECRBY', KEYS[1], ARGV[1])
"""


def test_lua_script_runs_by_sha_and_refuses_to_go_negative(redis_client: redis.Redis) -> None:
    key = f"test:{{{suffix()}}}:stock"
    redis_client.set(key, 3)
    sha = redis_client.script_load(DECR_IF_ENOUGH)
    results = [redis_client.evalsha(sha, 1, key, 1) for _ in range(5)]
    assert results == [2, 1, 0, -1, -1]
    assert redis_client.get(key) == "0"
    redis_client.delete(key)


def test_server_has_aof_enabled(redis_client: redis.Redis) -> None:
    config = redis_client.config_get("append*")
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "everysec"
