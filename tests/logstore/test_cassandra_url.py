from __future__ import annotations

import pytest

from logstore.errors import ConfigError
from logstore.store.cassandra.url import parse_cassandra_url


def test_several_contact_points_and_options() -> None:
    target = parse_cassandra_url(
        "cassandra://127.0.0.1:9043,127.0.0.2:9043,127.0.0.3:9043/logs?consistency=quorum&replication=3"
    )
    assert target.hosts == ("127.0.0.1", "127.0.0.2", "127.0.0.3")
    assert target.port == 9043
    assert target.chunk_ttl_s == 60 * 86_400  # the backstop is on by default
    assert parse_cassandra_url("cassandra://h/ks?chunk_ttl=0").chunk_ttl_s == 0
    assert (target.keyspace, target.consistency, target.replication) == ("logs", "QUORUM", 3)
    assert target.driver == "acsylla"  # the write path's default
    assert parse_cassandra_url("cassandra://h/ks?driver=cassandra-driver").driver == "cassandra-driver"


@pytest.mark.parametrize(
    "url",
    [
        "cassandra:///ks",
        "cassandra://h:abc/ks",
        "cassandra://h/1bad",
        "cassandra://h/ks?consistency=SOME",
        "cassandra://h/ks?replication=0",
        "cassandra://h/ks?colour=blue",
        "cassandra://h/ks?driver=scylla",
        "cassandra://h1:9042,h2:9043/ks",
    ],
)
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_cassandra_url(url)
