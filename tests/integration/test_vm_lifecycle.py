# VM lifecycle from the shell with the demo guest (it prints "demo: tick N" every
# second): pause stops progress, resume continues, reset restarts, destroy gives all
# of the VM's memory back, bad requests get clear errors.
import os
import re
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, PROMPT, CMD_TIMEOUT, normalize, start_machine

DEMO = os.path.join(BUILD, "guests", "demo.elf")
CONFIG = """
[vm demo]
memory = 32M
kernel = demo.elf
cmdline = hv lifecycle
autostart = yes

[vm spare]
memory = 64M
vcpus = 2
kernel = demo.elf
"""


@pytest.fixture(scope="module")
def hv(tmp_path_factory):
    subprocess.run(["make", "-C", ROOT, f"BUILD={BUILD}", "guests"], check=True,
                   capture_output=True, timeout=600)
    wd = tmp_path_factory.mktemp("lifecycle")
    conf = wd / "vms.conf"
    conf.write_text(CONFIG)
    (wd / "m").mkdir()
    made = []
    m = start_machine("lifecycle", str(wd / "m"), smp=2, mem="512M",
                      modules=[str(conf), DEMO], on_create=made.append)
    yield m
    for x in made:
        x.kill()


@pytest.fixture
def shell(request, hv):
    request.node.hv_machines = [hv]
    hv.reset_line()
    return hv


def console(m, name):
    m.send(f"console {name}\r")
    m.expect_exact(f"[attached to '{name}'", CMD_TIMEOUT, f"console {name}")
    text = normalize(m.child.before)
    m.send("\x1d")
    m.expect_exact(f"[detached from '{name}']", CMD_TIMEOUT, "detach")
    m.expect_exact(PROMPT, CMD_TIMEOUT, "prompt after console")
    return text


def last_tick(m, name):
    ticks = re.findall(r"^demo: tick (\d+)$", console(m, name), re.M)
    return int(ticks[-1]) if ticks else 0


def state(m, name):
    for line in m.run("vms").splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] == name:
            return f[2]
    return None


def free_frames(m):
    out = m.run("mem")
    return int(re.search(r"^free:\s+\d+ MiB \((\d+) frames", out, re.M).group(1))


def wait_tick_above(m, name, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = last_tick(m, name)
        if t > n:
            return t
        time.sleep(1)
    pytest.fail(f"{name}: no tick above {n} within {timeout} s")


def test_demo_runs_and_ticks(shell):
    assert state(shell, "demo") == "running"
    assert state(shell, "spare") == "created"
    t = wait_tick_above(shell, "demo", 1)
    text = console(shell, "demo")
    assert "demo: hello from a guest of the hv hypervisor (command line: 'hv lifecycle')" in text
    assert wait_tick_above(shell, "demo", t) > t


def test_pause_stops_progress_and_resume_continues(shell):
    wait_tick_above(shell, "demo", 0)
    assert "VM 'demo' paused" in shell.run("vm pause demo")
    assert state(shell, "demo") == "paused"
    exits = shell.run("vcpus demo")
    t0 = last_tick(shell, "demo")
    time.sleep(2.5)
    assert last_tick(shell, "demo") == t0, "ticks went on while paused"
    assert shell.run("vcpus demo") == exits, "exits went on while paused"
    assert "paused" in shell.run("vcpus demo")
    assert "VM 'demo' resumed" in shell.run("vm resume demo")
    assert state(shell, "demo") == "running"
    assert wait_tick_above(shell, "demo", t0) > t0


def test_reset_restarts_the_guest(shell):
    before = console(shell, "demo").count("demo: hello from a guest")
    assert "VM 'demo' reset" in shell.run("vm reset demo")
    assert state(shell, "demo") == "running"
    deadline = time.time() + 30
    while console(shell, "demo").count("demo: hello from a guest") == before:
        assert time.time() < deadline, "no new banner after reset"
        time.sleep(1)


def test_regs_shows_the_vcpu(shell):
    out = shell.run("regs demo 0")
    assert re.search(r"^RIP=[0-9a-f]{16} RFLAGS=[0-9a-f]{16}$", out, re.M), out
    assert re.search(r"^CS\s+sel=0008 ", out, re.M), out  # the guest's flat 32-bit code
    assert "has vCPUs 0-0" in shell.run("regs demo 1")
    assert "no VM named 'nosuch'" in shell.run("regs nosuch 0")


def test_destroy_gives_memory_back(shell):
    # Guest RAM is taken when a VM is created ('spare' was created at boot).
    assert "VM 'spare' started" in shell.run("vm start spare")
    wait_tick_above(shell, "spare", 0)
    with_spare = free_frames(shell)
    assert "VM 'spare' destroyed" in shell.run("vm destroy spare")
    assert state(shell, "spare") is None
    without = free_frames(shell)
    assert without - with_spare >= 64 * 256, (with_spare, without)  # its 64 MiB came back
    # Create/start/destroy again: exactly as much is free afterwards (nothing leaks).
    assert "created VM" in shell.run("vm create spare")
    assert without - free_frames(shell) >= 64 * 256
    assert "VM 'spare' started" in shell.run("vm start spare")
    wait_tick_above(shell, "spare", 0)
    assert "VM 'spare' destroyed" in shell.run("vm destroy spare")
    assert free_frames(shell) == without


def test_bad_requests_get_clear_errors(shell):
    assert "is already running" in shell.run("vm start demo")
    assert "not paused" in shell.run("vm resume demo")
    assert "no VM named 'ghost'" in shell.run("vm pause ghost")
    assert "unknown operation 'explode'" in shell.run("vm explode demo")
    assert "no entry [vm ghost]" in shell.run("vm create ghost")
    out = shell.run("vm create demo")
    assert "exists already" in out, out
    assert state(shell, "demo") == "running"
