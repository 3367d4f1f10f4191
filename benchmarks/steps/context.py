"""What every step of a run shares: where the servers are, the profile, the run's name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.steps.profiles import Profile

if TYPE_CHECKING:  # `logstore --help` reads this module: pydantic waits for a run
    from logstore.config import BusSettings

STORE_URL = "cassandra://127.0.0.1:9042/logstore_bench?consistency=ONE&chunk_ttl=86400"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
POSTGRES_DSN = "postgresql://logstore_bench:logstore_bench@127.0.0.1:5432/logstore_bench"


@dataclass(frozen=True)
class BenchContext:
    profile: Profile
    tag: str  # unique per run: prefixes queues, job ids and PostgreSQL tables
    store_url: str
    amqp_url: str
    postgres_dsn: str
    workdir: Path  # process logs of this run

    @property
    def bus(self) -> BusSettings:
        from logstore.config import BusSettings

        return BusSettings(bus=self.amqp_url)
