"""The embedded default's file broker publishes each message whole (karatlever/broker.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from karatlever.broker import PARTIAL_SUFFIX
from karatlever.celery import app


def _connection(folder: Path, transport: str = "karatlever.broker:Transport") -> Connection:
    options: dict[str, Any] = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        "polling_interval": 0.01,
    }
    (folder / "control").mkdir(exist_ok=True)
    return Connection("filesystem://", transport=transport, transport_options=options)


def test_a_message_is_complete_when_it_appears_and_kombus_own_reader_reads_it(
    tmp_path: Path,
) -> None:
    with _connection(tmp_path) as ours:
        ours.SimpleQueue("urgent").put({"ids": list(range(100))})
    files = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert len(files) == 1
    assert files[0].endswith(".urgent.msg")
    assert not any(name.endswith(PARTIAL_SUFFIX) for name in files)
    with _connection(tmp_path, transport="filesystem") as stock:
        message = stock.SimpleQueue("urgent").get(timeout=1)
        assert message.payload == {"ids": list(range(100))}
        message.ack()


def test_a_message_still_being_written_is_never_taken(tmp_path: Path) -> None:
    # given: a half-written message, as the writer leaves it until its rename
    (tmp_path / f"1_abc.urgent.msg{PARTIAL_SUFFIX}").write_bytes(b'{"bo')

    with _connection(tmp_path) as ours:
        queue = ours.SimpleQueue("urgent")
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.1)

    assert (tmp_path / f"1_abc.urgent.msg{PARTIAL_SUFFIX}").exists()


def test_the_embedded_default_uses_it_and_polls_every_tenth_of_a_second(settings: Any) -> None:
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("the PostgreSQL + Redis run has no file broker")
    assert app.conf.broker_transport == "karatlever.broker:Transport"
    assert app.conf.broker_transport_options["polling_interval"] == 0.1
