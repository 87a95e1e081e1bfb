"""The bot's own memory: the running bot over a process that only imports its libraries.

The bot runs as a process (`python -m bot`, as tests/harness.py starts it, against FakeTelegram
and FakeAniLibria on 127.0.0.1) on a SQLite file holding 1,000,000 subscriptions over 100,000
chats (bench_fanout's load: one title followed by 50,000 chats). It polls, opens the socket,
matches a new episode of that title (50,000 outbox rows in one transaction), sends for a while,
answers a few commands, and is stopped with SIGTERM. At its exit it writes the names of every
module it had loaded. A second, fresh process then imports exactly those modules that are not
the bot's own (aiogram, pydantic, aiohttp, httpx, the standard library...) and nothing else.

Figures: the bot's peak resident memory (VmHWM) minus the baseline's (target <= 40 MB: what is
ours, whatever the libraries weigh), both absolute; and the start-up time, from the spawn of the
process to its first getUpdates. Run: python -m bench.bench_memory [--subscriptions N ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import bench_fanout
from bench.bench_delivery import episode_frames
from bench.figures import ratio
from tests.fakes.anilibria import FakeAniLibria
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotProcess, poll

OWN_LIMIT_MB = 40.0
OURS = ("bot", "storage", "bench", "tests", "__main__", "__mp_main__")
USERS = (910_001, 910_002, 910_003)

# The bot itself, but at exit it writes the modules it had loaded (runpy is what -m uses).
BOT_WITH_MODULE_LIST = """
import atexit, os, runpy, sys
def _modules():
    with open(os.environ["BENCH_MODULES_FILE"], "w", encoding="utf-8") as out:
        out.write("\\n".join(sorted(sys.modules)))
atexit.register(_modules)
sys.argv = ["bot"]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""

# Imports the given modules, then reports its memory and how long the imports took.
BASELINE = """
import importlib, json, sys, time
started = time.perf_counter()
failed = []
for name in sys.stdin.read().split():
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name)
took = time.perf_counter() - started
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({
    "hwm_kb": int(status["VmHWM"].split()[0]),
    "rss_kb": int(status["VmRSS"].split()[0]),
    "import_s": took,
    "failed": failed,
}))
"""


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a live process in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


async def spawn(bot: BotProcess, modules_file: Path) -> float:
    """Start the bot (as BotProcess.start does, through the wrapper); returns the spawn time."""
    env = bot.environment() | {"BENCH_MODULES_FILE": str(modules_file)}
    log = bot.log_path.open("ab")
    spawned = time.monotonic()
    bot.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BOT_WITH_MODULE_LIST, cwd=bot.workdir, env=env, stdout=log, stderr=log
    )
    log.close()
    bot.starts += 1
    return spawned


def baseline(modules: list[str]) -> dict[str, object]:
    """A fresh process that imports the libraries the bot had loaded, and nothing of ours."""
    libraries = [m for m in modules if m.split(".")[0] not in OURS]
    done = subprocess.run(
        [sys.executable, "-c", BASELINE],
        input="\n".join(libraries),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    result: dict[str, object] = json.loads(done.stdout)
    result["count"] = len(libraries)
    return result


async def run(args: argparse.Namespace) -> int:
    telegram, anilibria = FakeTelegram(), FakeAniLibria()
    await telegram.start()
    await anilibria.start()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        bot = BotProcess(Path(tmp), telegram, anilibria, {"LOG_LEVEL": "INFO"})
        modules_file = Path(tmp) / "modules.txt"
        try:
            started = time.perf_counter()
            total = await bench_fanout.build(bot.db_path, args)
            print(
                f"memory: {total:,} subscriptions over {args.chats:,} chats, one title followed"
                f" by {args.followers:,}; built in {time.perf_counter() - started:.1f} s"
            )
            spawned = await spawn(bot, modules_file)
            await poll(
                lambda: telegram.calls_of("getUpdates") and anilibria.ws.total_connections,
                timeout=60,
                message="the bot to poll and open the socket",
            )
            first_poll = telegram.calls_of("getUpdates")[0].at - spawned
            assert bot.proc is not None
            idle_hwm, idle_rss = memory_mb(bot.proc.pid)

            for frame in episode_frames(bench_fanout.HOT_TITLE, bench_fanout.BASE_EPISODE + 1):
                await anilibria.ws.push(frame)
            await poll(
                lambda: bot.db("SELECT COUNT(*) FROM outbox")[0][0] >= args.followers,
                timeout=60,
                message="the fan-out",
            )
            for user in USERS:
                for text in ("/start", "/subscriptions", "/schedule", "/settings"):
                    telegram.message(user, text, language_code="en")
            await asyncio.sleep(args.send_seconds)  # the sender at work, the replies out
            sent = len(telegram.calls_of("sendMessage"))
            hwm, rss = memory_mb(bot.proc.pid)
            exit_code = await bot.stop(signal.SIGTERM, timeout=15)
        except BaseException:
            print(bot.log()[-4000:], file=sys.stderr)
            raise
        finally:
            if bot.proc is not None and bot.proc.returncode is None:
                await bot.kill()
            await anilibria.stop()
            await telegram.stop()
        modules = modules_file.read_text("utf-8").split()

    base = baseline(modules)
    base_hwm = int(base["hwm_kb"]) / 1024  # type: ignore[call-overload]
    own = hwm - base_hwm
    import aiogram  # the version the bot ran with (the same interpreter and packages)

    print(f"  aiogram {aiogram.__version__}, Python {sys.version.split()[0]}")
    print(
        f"  baseline: a process importing the {base['count']} library modules the bot had"
        f" loaded (none of ours): peak {base_hwm:.1f} MB, imports {base['import_s']:.2f} s"
    )
    if base["failed"]:
        print(f"    not importable on their own (skipped): {' '.join(base['failed'])}")  # type: ignore[arg-type]
    print(
        f"  bot, polling with {args.subscriptions:,} subscriptions: peak {idle_hwm:.1f} MB,"
        f" now {idle_rss:.1f} MB"
    )
    print(
        f"  bot after the 50,000-row fan-out, {args.send_seconds:g} s of sending ({sent:,}"
        f" messages) and {len(USERS) * 4} commands: peak {hwm:.1f} MB, now {rss:.1f} MB"
    )
    print(f"start-up, spawn to the first getUpdates: {first_poll:.2f} s")
    print(
        f"the bot's own memory (its peak minus the baseline's): {own:.1f} MB"
        f" / limit {OWN_LIMIT_MB:.0f} MB = ratio {ratio(own, OWN_LIMIT_MB)}"
    )
    print(f"bot exit code after SIGTERM: {exit_code}")
    ok = own <= OWN_LIMIT_MB and exit_code == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--followers", type=int, default=50_000)
    parser.add_argument("--other-titles", type=int, default=5_000)
    parser.add_argument("--send-seconds", type=float, default=10.0)
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
