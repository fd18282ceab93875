"""Inputs are bounded (issue 19, item 5): a source that never ends, or never finishes arriving,
ends in one sentence that names the bound.

``--max-bytes`` (default 256 MiB) bounds what is read from any source — ``/dev/zero``,
``/dev/urandom``, an HTTP body that never ends, a Content-Length above it — and ``--timeout``
bounds the *whole* download, so a server trickling one byte per half second is cut off at the
deadline, not every 64 KiB. Servers here listen on 127.0.0.1 only.
"""
import http.server
import threading
import time

import pytest

from lstm_np.forecast import train
from lstm_np.forecast.options import TrainOptions, build_parser, parse
from lstm_np.forecast.reader import DEFAULT_MAX_BYTES, DataError, read_source

from conftest import assert_user_error, run

TINY = ["--window", "5", "--test-days", "5", "--epochs", "2", "--units", "4", "--batch-size", "8",
        "--quiet"]


def test_the_default_bound_is_256_mib_and_said_in_help():
    opts = parse(TrainOptions, build_parser(TrainOptions, "t", "", ""), [])
    assert opts.max_bytes == DEFAULT_MAX_BYTES == 256 * 2**20
    assert "--max-bytes BYTES" in build_parser(TrainOptions, "t", "", "").format_help()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_refused_at_the_bound(tmp_path, capsys, device):
    code, stdout, err = run(train.main, ["--csv", device, "--max-bytes", "1M", "--out", tmp_path / "o",
                                         *TINY], capsys)
    assert_user_error(code, err)
    assert "larger than the limit of 1 MiB" in err and "--max-bytes" in err
    assert not (tmp_path / "o").exists()


def test_a_regular_file_above_the_bound_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(3 * 2**20)   # sparse: nothing to read, only the size to see
    with pytest.raises(DataError, match="larger than the limit of 2 MiB"):
        read_source(big, "big.csv", max_bytes=2 * 2**20)


@pytest.mark.parametrize("value", ["0", "-1M", "inf", "nan", "65G", "lots"])
def test_max_bytes_must_be_a_sensible_size(tmp_path, capsys, value):
    code, _, err = run(train.main, ["--max-bytes", value, "--out", tmp_path / "o", *TINY], capsys)
    assert_user_error(code, err)
    assert "--max-bytes" in err


class Handler(http.server.BaseHTTPRequestHandler):
    mode = "endless"

    def do_GET(self):
        self.send_response(200)
        if self.mode == "length":
            self.send_header("Content-Length", str(10 * 2**30))
        self.end_headers()
        try:
            if self.mode == "endless":
                line = b"2021-01-01,100\n" * 4096
                while True:
                    self.wfile.write(line)
            elif self.mode == "trickle":
                for _ in range(600):
                    self.wfile.write(b"D")
                    self.wfile.flush()
                    time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    servers = []

    def start(mode):
        handler = type("H", (Handler,), {"mode": mode})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/prices.csv"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("mode", ["endless", "length"])
def test_a_body_above_the_bound_is_refused(server, mode):
    url = server(mode)
    with pytest.raises(DataError, match="larger than the limit of 2 MiB.*--max-bytes"):
        read_source(url, url, timeout=60, max_bytes=2 * 2**20)


def test_a_trickling_server_is_cut_off_at_the_whole_deadline(server, tmp_path, capsys):
    url = server("trickle")
    start = time.monotonic()
    code, _, err = run(train.main, ["--csv", url, "--timeout", "2", "--out", tmp_path / "o", *TINY], capsys)
    elapsed = time.monotonic() - start
    assert_user_error(code, err)
    assert "no complete answer within 2 s" in err and "--timeout" in err
    # one byte per 0.5 s never trips a socket timeout; the 600 bytes would take 300 s
    assert elapsed < 60
