"""``--scheduler`` that is not a Dask scheduler ends in one sentence, within the connect
timeout, with quiet logs (issue 19, item 7). Every server here listens on 127.0.0.1 only and is
closed by the test; a real ``dask scheduler`` is tested in test_backtest_tasks.py."""
import socket
import threading
import time

import pytest

from lstm_np.forecast import compare, tasks
from lstm_np.forecast.cli import UserError

from conftest import assert_user_error, run

TINY = ["--window", "5", "--test-days", "5", "--epochs", "1", "--units", "2", "--batch-size", "8",
        "--quiet", "--models", "mlp", "--seeds", "1"]


@pytest.mark.parametrize("address", ["not-an-address", "http://127.0.0.1:8786", "tcp://127.0.0.1",
                                     "tcp://127.0.0.1:99999", "tls://127.0.0.1:8786", "127.0.0.1:port",
                                     "tcp://:8786", "tcp://a/b:8786"])
def test_an_address_that_is_not_host_and_port_is_refused_by_the_parser(tmp_path, capsys, address):
    code, stdout, err = run(compare.main, ["--scheduler", address, "--out", tmp_path / "o", *TINY], capsys)
    assert_user_error(code, err)
    assert "expected a Dask scheduler address such as tcp://10.0.0.5:8786" in err and stdout == ""


@pytest.mark.parametrize("address, expected", [("tcp://127.0.0.1:8786", ("127.0.0.1", 8786)),
                                               ("10.0.0.5:8786", ("10.0.0.5", 8786)),
                                               ("tcp://[::1]:8786", ("::1", 8786)),
                                               ("tcp://my-host.local:1", ("my-host.local", 1))])
def test_good_addresses_parse(address, expected):
    assert tasks.scheduler_address(address) == expected


@pytest.fixture
def fake_server():
    """A 127.0.0.1 port that never answers, answers garbage or HTTP, or is closed."""
    sockets = []

    def start(mode):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        if mode == "closed":
            server.close()
            return f"tcp://127.0.0.1:{port}"
        server.listen(8)
        sockets.append(server)

        def serve():
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                sockets.append(conn)
                if mode == "garbage":
                    conn.sendall(bytes(range(256)) * 8)
                elif mode == "http":
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    conn.close()
        threading.Thread(target=serve, daemon=True).start()
        return f"tcp://127.0.0.1:{port}"

    yield start
    for s in sockets:
        s.close()


@pytest.mark.parametrize("mode, words", [("silent", "did not answer as a Dask scheduler within 5 s"),
                                         ("garbage", "did not complete Dask's handshake"),
                                         ("http", "did not complete Dask's handshake"),
                                         ("closed", "cannot reach the Dask scheduler")])
def test_a_port_that_is_not_a_scheduler_is_one_sentence(fake_server, mode, words):
    address = fake_server(mode)
    start = time.monotonic()
    with pytest.raises(UserError, match=words):
        tasks.run_tasks(lambda t, d: None, [], scheduler=address, progress=False)
    assert time.monotonic() - start < tasks.CONNECT_TIMEOUT + 10


@pytest.mark.parametrize("mode", ["silent", "garbage"])
def test_compare_on_a_fake_scheduler_is_one_sentence_without_logs(fake_server, tmp_path, capsys, mode):
    address = fake_server(mode)
    csv = tmp_path / "p.csv"
    csv.write_text("Date,Close\n" + "".join(f"2021-01-{d:02d},{100 + d}\n" for d in range(1, 31)))
    code, stdout, err = run(compare.main, ["--csv", csv, "--scheduler", address, "--out", tmp_path / "o",
                                           *TINY], capsys)
    assert_user_error(code, err)
    assert address in err and "Traceback" not in err and not (tmp_path / "o").exists()


def test_dask_logs_are_quiet_during_a_run_and_restored_after(capfd):
    import logging

    import distributed  # noqa: F401

    before = {name: logging.getLogger(name).level for name in ("distributed", "distributed.client")}
    with tasks.quiet_logs():
        for name in ("distributed.comm.tcp", "distributed.client", "distributed.core", "tornado.application"):
            logging.getLogger(name).error("CommClosedError: in <TCP (closed)>: Stream is closed")
    assert "CommClosedError" not in capfd.readouterr().err
    assert {name: logging.getLogger(name).level for name in before} == before


def test_a_local_cluster_of_more_workers_than_cores_keeps_stderr_quiet(capfd):
    """The issue's --workers 64 printed dozens of CommClosedError tracebacks while the cluster
    shut down; four workers on this machine's cores make the same race, at a test's cost."""
    from test_backtest_tasks import DATA, JOBS, compute

    results = tasks.run_tasks(compute, JOBS, DATA, workers=4, progress=False)
    assert len(results) == len(JOBS)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "CommClosedError" not in err, err
