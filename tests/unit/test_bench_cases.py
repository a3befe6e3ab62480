"""chatgate's other setups in the benchmark's output: by number of workers, by way
in, as two instances behind nginx, and memory by open streams; what each case
sends and how its settings look."""

import time
from pathlib import Path

import aiohttp

from bench.case_tables import cluster_line, cluster_rows, memory_line, settings_line
from bench.cookie_sign_in import (
    PROFILES_TABLE,
    SUPABASE_URL,
    access_token,
    cookie_settings,
    session_cookie,
)
from bench.features import FEATURE_SETTINGS
from bench.nginx import nginx_conf
from bench.sections import render_blocks_markdown, render_blocks_text, run_blocks
from bench.workloads import WORKLOADS, holding_streams
from chatgate.profile_fields import FIELD_NAMES
from chatgate.settings import load_settings
from chatgate.supabase.cookies import session_access_token, session_cookie_name
from chatgate.supabase.session_tokens import session_verifier
from tests.bench_runs import full_run


def test_every_table_renders_for_text_and_markdown() -> None:
    blocks = run_blocks(full_run())
    text, markdown = render_blocks_text(blocks), render_blocks_markdown(blocks)
    for shown in (text, markdown):
        assert "CPU per request vs 1 worker" in shown
        assert "W1, Supabase session cookie" in shown
        assert "most answers streaming at once" in shown
        assert "`CHATGATE_RATE_LIMIT_PER_MINUTE=100000000`" in shown
    assert "| W3 | 2 | 1,000 | 0.520 | 1.04x |" in markdown


def test_two_instances_are_shown_against_one_with_nginx_apart() -> None:
    run = full_run()
    w1 = [row for row in cluster_rows(run) if row[0] == "W1"]
    assert [row[1] for row in w1] == ["one instance, alone", "2 chatgate + nginx"]
    assert w1[1][3:6] == ["0.600", "1.20x", "0.100"]
    assert "behind nginx 1.22.1" in cluster_line(run)
    skipped = run.model_copy(update={"cluster": None, "cluster_skipped": "nginx not found"})
    assert cluster_line(skipped) == "Two instances behind nginx: skipped (nginx not found)."
    assert cluster_rows(skipped) == []


def test_memory_shows_the_slope_and_the_fixed_part() -> None:
    line = memory_line(full_run())
    assert "Memory per open stream: 30.0 KB" in line
    assert "the fixed part (the line's intercept) 80 MB" in line
    assert "idle before the first request 100 MB" in line


def test_the_settings_line_names_what_was_on() -> None:
    line = settings_line(full_run().model_copy(update={"chatgate_settings": FEATURE_SETTINGS}))
    assert "the usage ledger and the metrics (always on)" in line
    for name in FEATURE_SETTINGS:
        assert f"`{name}=" in line


def test_every_stream_of_the_memory_case_is_held_twice_at_a_pace_one_worker_keeps() -> None:
    w3 = next(w for w in WORKLOADS if w.name == "W3")
    held = holding_streams(w3, 4000)
    assert (held.concurrency, held.requests) == (4000, 8000)
    # 4,000 chunks a second in all: what one worker relays without falling behind.
    assert held.concurrency * 1000 / held.delay_ms <= 5000


async def test_chatgate_signs_in_the_session_cookie_the_benchmark_sends() -> None:
    secret, subject = "s" * 64, "0b6f2c4e-6a51-4d1e-9a4b-2f7f8c1d3e5a"
    now = time.time()
    token = access_token(subject=subject, email="bench@example.com", secret=secret, now=now)
    cookie = session_cookie(
        token=token, subject=subject, email="bench@example.com", expires_at=int(now) + 3600
    )
    name = session_cookie_name(SUPABASE_URL)
    assert cookie.startswith(f"{name}=%7B%22access_token%22")
    assert session_access_token(cookie, cookie_name=name) == token
    settings = load_settings(cookie_settings(database_url="postgresql://x/y", jwt_secret=secret))
    async with aiohttp.ClientSession() as http:
        verifier = session_verifier(settings, http=http)
        assert verifier is not None
        session = await verifier.verify(token)
    assert (session.subject, session.email) == (subject, "bench@example.com")


def test_the_profiles_table_has_every_key_column_chatgate_reads() -> None:
    for name in FIELD_NAMES:
        assert f"{name} TEXT" in PROFILES_TABLE


def test_nginx_balances_over_every_instance_on_kept_connections() -> None:
    conf = nginx_conf(Path("/tmp/n"), port=8080, upstream_ports=[9001, 9002], connections=1000)
    assert "server 127.0.0.1:9001;" in conf
    assert "server 127.0.0.1:9002;" in conf
    assert "keepalive 1000;" in conf
    assert 'proxy_set_header Connection "";' in conf
    assert "proxy_buffering off;" in conf
    assert "listen 127.0.0.1:8080" in conf
