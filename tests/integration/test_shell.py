# The serial shell under QEMU: commands, errors, and line editing over the wire.
import re
import time

import pytest

from conftest import PROMPT, elf_defines, registered_commands, source_text

VERSION = re.search(r'#define HV_VERSION "([^"]+)"', source_text("kernel/version.h")).group(1)
NAME = re.search(r'#define HV_NAME "([^"]+)"', source_text("kernel/version.h")).group(1)


def help_listing(shell):
    """Command names from `help`: lines of the form '  name ...'."""
    out = shell.run("help")
    return [m.group(1) for m in re.finditer(r"^  (\S+)", out, re.M)], out


def test_help_lists_every_command(shell):
    names, out = help_listing(shell)
    declared = registered_commands()
    assert declared, "no SHELL_COMMAND declarations found in the sources"
    assert sorted(names) == sorted(declared), out
    assert names == sorted(names), "help is not sorted by name"
    for name in sorted(declared):
        detail = shell.run(f"help {name}")
        assert detail.startswith(f"usage: {name}"), detail
        assert len(detail.strip().split("\n")) == 2, detail


def test_version(shell):
    out = shell.run("version")
    assert out.startswith(f"{NAME} {VERSION} "), out


def test_unknown_command_then_next_works(shell):
    assert shell.run("frobnicate 1 2") == "unknown command 'frobnicate' (try 'help')\n"
    assert shell.run("version").startswith(f"{NAME} {VERSION}")


def test_bad_arguments_give_usage(shell):
    assert shell.run("log level 9") == "usage: log [level [0-7]]\n"
    assert shell.run("log level x") == "usage: log [level [0-7]]\n"
    assert shell.run("log frob") == "usage: log [level [0-7]]\n"
    assert shell.run("version extra") == "usage: version\n"
    assert shell.run("help a b") == "usage: help [command]\n"
    assert shell.run('help "unterminated') == "error: unterminated quote\n"
    assert shell.run("version").startswith(f"{NAME} {VERSION}")


def test_log_shows_boot_lines(shell):
    out = shell.run("log")
    assert f"{NAME} {VERSION} starting" in out, out
    assert "boot: Multiboot2" in out, out
    # every line carries the timestamp and CPU prefix
    lines = [l for l in out.split("\n") if l]
    assert lines and all(re.match(r"\[\s*\d+\.\d{6}\] cpu\d+: ", l) for l in lines), out


def test_log_level_changes_are_reported(shell):
    out = shell.run("log level")
    m = re.fullmatch(r"console log level: (\d) \((\w+)\)\n", out)
    assert m, out
    old = int(m.group(1))
    new = 3 if old != 3 else 5
    out = shell.run(f"log level {new}")
    assert re.fullmatch(rf"console log level: {new} \(\w+\), was {old} \(\w+\)\n", out), out
    assert shell.run("log level").startswith(f"console log level: {new} ")
    shell.run(f"log level {old}")
    assert shell.run("log level").startswith(f"console log level: {old} ")


def test_backspace(shell):
    shell.send("verx\x7fsion\x08\x08on\r")
    shell.expect_exact("\n" + PROMPT, 30, "prompt")
    out = shell.child.before
    assert f"{NAME} {VERSION}" in out, out
    assert "unknown command" not in out, out


def test_ctrl_u_kills_line(shell):
    shell.send("garbage words\x15version\r")
    shell.expect_exact("\n" + PROMPT, 30, "prompt")
    out = shell.child.before
    assert f"{NAME} {VERSION}" in out and "unknown command" not in out, out


def test_ctrl_c_abandons_line(shell):
    shell.send("frobnicate")
    shell.reset_line()
    assert shell.run("version").startswith(f"{NAME} {VERSION}")


def test_cursor_keys_insert_in_middle(shell):
    # "vrsion", five times Left, insert "e"
    shell.send("vrsion" + "\x1b[D" * 5 + "e\r")
    shell.expect_exact("\n" + PROMPT, 30, "prompt")
    out = shell.child.before
    assert f"{NAME} {VERSION}" in out and "unknown command" not in out, out


def test_history_up_arrow_reruns_previous(shell):
    first = shell.run("log level")
    shell.send("\x1b[A\r")
    shell.expect_exact("\n" + PROMPT, 30, "prompt")
    again = shell.child.before
    assert first.strip() in again, again
    assert "unknown command" not in again


def test_uptime_increases(shell):
    if not elf_defines("time_now_ns"):
        pytest.skip("timers (time_now_ns) not in the tree yet")
    def seconds(out):
        m = re.search(r"up (\d+)\.(\d+) s", out)
        assert m, out
        return float(f"{m.group(1)}.{m.group(2)}")
    a = seconds(shell.run("uptime"))
    time.sleep(1.2)
    b = seconds(shell.run("uptime"))
    assert b > a, (a, b)


def cpu_rows(out):
    """(cpu, apic, online, load, idle%, current) for each row of `cpus`."""
    return [m.groups() for m in re.finditer(
        r"^\s*(\d+)\s+(\d+|-)\s+(yes|no)\s+(\d+|-)\s+(\d+%|-)\s+(.*)$", out, re.M)]


def test_cpus_shows_all_online(shell):
    if not elf_defines("smp_boot_aps"):
        pytest.skip("SMP start-up (smp_boot_aps) not in the tree yet")
    out = shell.run("cpus")
    rows = cpu_rows(out)
    assert [r[0] for r in rows] == ["0", "1", "2", "3"], out
    assert all(r[2] == "yes" for r in rows), out
    assert len({r[1] for r in rows}) == 4, "APIC ids not distinct:\n" + out
    assert "4 of 4 CPUs online" in out, out
    # the shell itself is what one CPU is running right now
    assert sum(1 for r in rows if r[5].startswith("shell (#")) == 1, out


def thread_rows(out):
    """name -> (id, cpu, state, cpu seconds, switches) from `threads`."""
    rows = {}
    for m in re.finditer(r"^\s*(\d+)\s+(\S+)\s+(\d+)\s+(\w+)\s+(\d+\.\d+)\s+(\d+)$", out, re.M):
        rows[m.group(2)] = (int(m.group(1)), int(m.group(3)), m.group(4), float(m.group(5)),
                            int(m.group(6)))
    return rows


def test_threads_lists_idle_and_shell(shell):
    if not elf_defines("thread_for_each"):
        pytest.skip("scheduler (thread_for_each) not in the tree yet")
    first = thread_rows(shell.run("threads"))
    assert "shell" in first and first["shell"][2] == "running", first
    idle = {name: row for name, row in first.items() if name.startswith("idle")}
    assert sorted(row[1] for row in idle.values()) == [0, 1, 2, 3], first
    time.sleep(1.0)
    out = shell.run("threads")
    second = thread_rows(out)
    # idle CPUs accumulate idle-thread time: at least one grew by most of the pause
    grown = [second[n][3] - first[n][3] for n in idle]
    assert max(grown) > 0.5, (first, second)
    assert re.search(rf"^{len(second)} threads$", out, re.M), out
