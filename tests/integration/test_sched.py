# Threads, scheduler and SMP: the built-in self-test, driven from the shell.
import re


def test_selftest_sched_passes(shell):
    out = shell.run("selftest sched", timeout=120)
    results = re.findall(r"^(PASS|FAIL): (.*)$", out, re.M)
    # One line per check: per-CPU threads, preemption, 3 sleep lengths,
    # self-migration, remote migration, cross-CPU calls, mutex.
    assert len(results) == 9, out
    assert all(r[0] == "PASS" for r in results), out
    assert "selftest sched: 4 CPUs online" in out, out
    assert re.search(r"^selftest sched: PASS \(0 failed\)$", out, re.M), out


def test_selftest_bad_suite(shell):
    out = shell.run("selftest nosuch")
    assert "unknown suite 'nosuch'" in out, out
    assert "usage: selftest" in shell.run("selftest"), "no usage line without a suite"
    assert shell.run("version").startswith("hv ")


def test_selftest_threads_are_reaped(shell):
    shell.run("selftest sched", timeout=120)
    out = shell.run("threads")
    assert "shell" in out, out
    # Every helper thread of the self-test has exited and been freed.
    assert " st-" not in out, out
