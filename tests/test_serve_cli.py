"""``esper-tui --serve``: every refusal is one sentence and exit 2 before anything starts (no
port bound, no record created, no process started); what a visitor's process runs."""

import shlex
import socket
from pathlib import Path

import pytest

from esper_tui.cli import serve
from esper_tui.cli import tui as cli
from esper_tui.serve import ServeError, bind, is_loopback

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODEL = FIXTURES / "tiny_iql.pt"
RUN = FIXTURES / "run.jsonl"


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def refused(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("esper-tui: error: ") and err.count("\n") == 1, err
    return err


CASES = [
    (["--replay", "{tmp}/missing.jsonl"], "does not exist"),
    (["--follow", "{tmp}/missing.jsonl"], "does not exist"),
    (["--runs", str(RUN)], "not a folder"),
    (["--runs", "{tmp}/nowhere"], "pass --runs DIR"),
    (["--replay", str(RUN), "--runs", "{tmp}"], "cannot be combined"),
    (["--follow", str(RUN), "--model", str(MODEL)], "cannot be combined"),
    (["--replay", str(RUN), "--epochs", "3"], "--epochs only applies to a new training run"),
    (["--follow", str(RUN), "--record", "{tmp}/r.jsonl"], "--record only applies"),
    (["--model", str(MODEL), "--no-record"], "--no-record"),
    (["--served"], "the viewer that --serve starts"),
    (["--replay", str(RUN), "--host", "bad host!"], "neither an IP address nor a known host"),
    (["--replay", str(RUN), "--host", "192.0.2.1"], "not an address of this machine"),
    (["--replay", str(RUN), "--port", "70000"], "--port"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a)[:40] for a, _ in CASES])
def test_bad_serve_input_exits_2_with_one_sentence(args, message, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["--serve", "--port", "0", *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    assert message in refused(argv, capsys)


def test_a_port_in_use_is_refused_before_the_record_is_created(busy_port, tmp_path, capsys):
    record = tmp_path / "r.jsonl"
    argv = ["--model", str(MODEL), "--serve", "--port", str(busy_port), "--record", str(record)]
    err = refused(argv, capsys)
    assert f"port {busy_port} on 127.0.0.1 is already in use; choose another with --port" in err
    assert not record.exists()


def test_served_needs_a_record_and_never_trains(tmp_path, capsys):
    assert "never trains" in refused(["--served", "--model", str(MODEL)], capsys)


def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0")


def test_bind_listens_on_a_free_port_when_asked_for_port_0():
    sock = bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0
        with pytest.raises(ServeError, match="already in use"):
            bind("127.0.0.1", port)
    finally:
        sock.close()


def test_visitors_get_the_runs_screen_of_the_folder(tmp_path, capsys):
    (tmp_path / "old.jsonl").write_text(RUN.read_text())
    parser = cli.build_parser()
    plan = serve.plan(parser.parse_args(["--serve", "--runs", str(tmp_path)]), parser)
    assert plan.viewer()[-2:] == ["--runs", str(tmp_path.resolve())]
    assert not plan.trains
    missing = tmp_path / "nothing-here"
    assert "pass --runs DIR" in refused(["--serve", "--runs", str(missing)], capsys)


def test_a_hostile_record_name_reaches_the_viewer_intact(tmp_path):
    record = tmp_path / "run $(touch pwned); 'x'.jsonl"
    record.write_text(RUN.read_text())
    parser = cli.build_parser()
    plan = serve.plan(parser.parse_args(["--serve", "--replay", str(record)]), parser)
    command = serve.viewer_command(plan.viewer())
    assert command.startswith("exec ")
    argv = shlex.split(command.removeprefix("exec "))
    assert argv[-1] == str(record.resolve()) and "--served" in argv


class Recorder:
    """Stands in for a visitor's viewer process: what the server would send it."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(("keys", data))

    async def set_terminal_size(self, width: int, height: int) -> None:
        self.sent.append(("size", width, height))

    async def blur(self) -> None:
        self.sent.append(("blur",))

    async def focus(self) -> None:
        self.sent.append(("focus",))


class Messages:
    """A browser's websocket messages, as aiohttp delivers them."""

    def __init__(self, *texts: str) -> None:
        from aiohttp import WSMessage, WSMsgType

        self.pongs: list = []
        self._messages = [WSMessage(WSMsgType.TEXT, text, None) for text in texts]

    def __aiter__(self):
        async def each():
            for message in self._messages:
                yield message

        return each()

    async def send_json(self, data) -> None:
        self.pongs.append(data)


async def test_a_forged_or_malformed_browser_message_never_reaches_the_viewer_as_is():
    sock = bind("127.0.0.1", 0)
    try:
        from esper_tui.serve import ViewerServer

        server = ViewerServer(lambda: "true", sock, "test")
        messages = Messages(
            '["resize", {"width": 100000000, "height": 100000000}]',
            '["resize", {"width": "x", "height": null}]',
            '["stdin", "?"]',
            '["stdin", {"not": "text"}]',
            "not json",
            "[" * 100_000,
            '{"stdin": "q"}',
            "[]",
            '["download", "/etc/passwd"]',
            '["focus"]',
            '["ping", "1"]',
        )
        viewer = Recorder()
        await server._process_messages(messages, viewer)
    finally:
        sock.close()
    assert viewer.sent == [("size", 500, 500), ("size", 80, 24), ("keys", b"?"), ("focus",)]
    assert messages.pongs == [["pong", "1"]]


def test_help_documents_the_serve_flags_and_hides_the_viewers_own():
    text = cli.build_parser().format_help()
    for flag in ("--serve", "--host", "--port", "--runs", "no authentication"):
        assert flag in text
    assert "--served" not in text
