"""The API's argument parser makes one schema instance per class and shares it between requests and
threads (core.http.Blueprint): loads must still be independent of each other."""
import threading
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from core.http import Blueprint
from checkpoints.schemas import ScanIn

PARSER = Blueprint.ARGUMENTS_PARSER


def test_one_instance_per_schema_class():
    first = PARSER._get_schema(ScanIn, None)
    assert isinstance(first, ScanIn)
    assert PARSER._get_schema(ScanIn, None) is first
    assert PARSER._get_schema(ScanIn(), None) is not first  # an instance given is used as it is


def test_a_shared_instance_loads_each_threads_data_and_errors_apart():
    schema = PARSER._get_schema(ScanIn, None)
    failures, barrier = [], threading.Barrier(8)

    def worker(n: int):
        barrier.wait()
        for i in range(300):
            text = f"GL1:{n}-{i}"
            at = datetime(2026, 3, 1 + n, 8, i % 60, tzinfo=timezone.utc)
            loaded = schema.load({"qr": text, "client_scan_id": f"c{n}-{i}", "scanned_at": at.isoformat()})
            if (loaded["qr"], loaded["client_scan_id"], loaded["scanned_at"]) != (text, f"c{n}-{i}", at):
                failures.append((n, i, loaded))
            with pytest.raises(ValidationError) as bad:
                schema.load({"qr": "", "plate_seen": "x" * (33 + n)})
            if set(bad.value.messages) != {"qr", "plate_seen"}:
                failures.append((n, i, bad.value.messages))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
