"""The VM tests' journal check: an Rspamd upload timeout counts unless the same process's retry healed it."""

from __future__ import annotations

from tests.vm.mailvm import without_healed_uploads

HOST = "2026-12-07T18:22:55+00:00 mail.example.test"
TIMEOUT = (
    f"{HOST} rspamd[504]: <gi7ndu>; lua; lua_redis.lua:1247: cannot upload script to 127.0.0.1:6379: timeout while "
    "connecting the server; registered from: /usr/share/rspamd/lualib/lua_bayes_redis.lua:125, filename: bayes_stat.lua"
)
OTHER_ERROR = f"{HOST} postfix/smtpd[600]: fatal: something else"


def uploaded(stamp: str, pid: int, script: str, server: str = "127.0.0.1:6379") -> str:
    return (
        f"2026-12-07T{stamp}+00:00 mail.example.test rspamd[{pid}]: <gi7ndu>; lua; lua_redis.lua:1254: "
        f"uploaded redis script to {server} from file {script}, sha: 3f6a1f9fd1ef52a5ac4ddcbf963c6974b4effd21"
    )


def test_a_timeout_the_same_process_retried_successfully_is_healed() -> None:
    assert without_healed_uploads([TIMEOUT, OTHER_ERROR], uploaded("18:22:58", 504, "bayes_stat.lua")) == [OTHER_ERROR]


def test_a_timeout_without_a_later_upload_of_that_script_by_that_process_still_counts() -> None:
    for log in (
        "",
        uploaded("18:22:58", 505, "bayes_stat.lua"),  # another process
        uploaded("18:22:58", 504, "neural_train_size.lua"),  # another script
        uploaded("18:22:50", 504, "bayes_stat.lua"),  # before the timeout
        uploaded("18:22:58", 504, "bayes_stat.lua", server="127.0.0.1:6380"),  # another server
    ):
        assert without_healed_uploads([TIMEOUT], log) == [TIMEOUT], log
