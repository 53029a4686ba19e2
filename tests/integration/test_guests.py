# Test guests (tests/guests): under plain QEMU -kernel (no hypervisor), and as VMs of the
# hypervisor booted from a configuration module, on each backend: AMD SVM under QEMU TCG
# (-smp 4) and Intel VMX under Bochs corei7_skylake_x (2 CPUs). Many VMs at once, more
# vCPUs than CPUs, vCPUs moved between CPUs while they run.
#
# One description (VMS below) says which VMs run where. Every guest runs on every backend
# in `make test-full` (HV_TEST_FULL=1); `make test` leaves the slowest guests out of the
# Bochs boot to stay within about ten minutes there. Tests that apply to some backends
# only carry @backends(...); the others run once per backend.
import collections
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, QEMU, ROOT, PROMPT, CMD_TIMEOUT, normalize

GUEST_DIR = os.path.join(BUILD, "guests")
ALL_GUESTS = ("hello", "cpuid", "pio", "mmio", "timer", "paging", "badmem", "triplefault",
              "spin", "smp", "realmode", "demo")
PLAIN_TIMEOUT = 120
CPUID_COUNT = 5000
FULL = os.environ.get("HV_TEST_FULL") == "1"

# Where each backend is tested. timeout: all test VMs of one boot must end within it.
Backend = collections.namedtuple("Backend", "emulator smp mem timeout")
BACKENDS = {
    "svm": Backend("qemu", 4, "768M", 300),
    "vmx": Backend("bochs", 2, "768M", 1200),
}
ALL_BACKENDS = tuple(BACKENDS)


def _backend_param(name):
    if BACKENDS[name].emulator != "bochs":
        return pytest.param(name, id=name)
    return pytest.param(name, id=name, marks=[
        pytest.mark.bochs,
        pytest.mark.skipif(shutil.which("bochs") is None, reason="bochs not installed")])


def backends(*names):
    """Mark: the test applies to these backends only (default: all of them)."""
    return pytest.mark.backends(*names)


# A VM of the guest boot. extra: config lines, or {backend: lines}. on: backends it runs
# on at all; full_only: backends where it runs only in `make test-full`.
VM = collections.namedtuple("VM", "name guest extra on full_only")


def vm(name, guest, extra=(), on=ALL_BACKENDS, full_only=()):
    return VM(name, guest, extra, on, full_only)


# cmdline "hv" turns on the hypervisor-specific checks.
VMS = [
    vm("hello", "hello", ["cmdline = hv first second"]),
    vm("cpuid", "cpuid", [f"cmdline = hv cpus=1 count={CPUID_COUNT}"]),
    vm("pio", "pio", ["cmdline = hv", "testdev = yes"]),
    # ~190 instruction forms, each through MMIO exits and the emulator: minutes on Bochs.
    vm("mmio", "mmio", ["cmdline = hv", "testdev = yes"], full_only=("vmx",)),
    vm("timer", "timer", ["cmdline = hv"]),
    vm("paging", "paging", ["cmdline = hv", "memory = 16M"]),
    vm("badmem", "badmem", ["cmdline = hv", "memory = 8M"]),
    vm("smp", "smp", ["cmdline = hv cpus=4", "vcpus = 4"]),
    vm("realmode", "realmode", ["cmdline = hv"]),
    vm("tf", "triplefault"),
    vm("spin", "spin"),
    # Started by test_vcpus_move_between_cpus, which moves its vCPU around while it runs.
    vm("mig", "cpuid", {"svm": ["cmdline = hv cpus=1 count=100000", "autostart = no"],
                        "vmx": ["cmdline = hv cpus=1 count=20000", "autostart = no"]}),
    # Its guest state is broken on purpose (virt corrupt); it ticks 10 times a second.
    vm("victim", "demo", ["cmdline = hv"]),
]
NEVER_ENDING = ("spin", "victim", "mig")
MIG_SHUFFLE_MS = {"svm": 1000, "vmx": 500}


def vm_runs(v, backend):
    return backend in v.on and (FULL or backend not in v.full_only)


def vms_for(backend):
    """(name, guest, extra lines) of the VMs that run on this backend in this mode."""
    out = []
    for v in VMS:
        if vm_runs(v, backend):
            extra = v.extra.get(backend, []) if isinstance(v.extra, dict) else list(v.extra)
            out.append((v.name, v.guest, extra))
    return out


@pytest.fixture(scope="module")
def guests():
    """Build the guests (quick when up to date); returns name -> ELF path."""
    subprocess.run(["make", "-C", ROOT, f"BUILD={BUILD}", "guests"], check=True,
                   capture_output=True, timeout=600)
    return {g: os.path.join(GUEST_DIR, f"{g}.elf") for g in ALL_GUESTS}


def result_lines(text):
    return re.findall(r"^(PASS|FAIL|SKIP): (.*)$", text, re.M)


def assert_passed(name, text):
    fails = [r for r in result_lines(text) if r[0] == "FAIL"]
    assert not fails, f"{name}: failed checks:\n" + "\n".join(f[1] for f in fails) + \
        "\n--- output:\n" + text
    assert re.search(r"^RESULT: PASS$", text, re.M), f"{name}: no RESULT: PASS\n{text}"


# ---- plain QEMU: the guests are ordinary Multiboot kernels -------------------------------

def run_plain(path, append="", smp=1, timeout=PLAIN_TIMEOUT):
    args = ["timeout", "-s", "KILL", str(timeout), QEMU, "-machine", "pc", "-m", "64",
            "-smp", str(smp), "-accel", "tcg,thread=multi", "-display", "none", "-no-reboot",
            "-monitor", "none", "-parallel", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial", "stdio", "-kernel", path, "-append", append]
    p = subprocess.run(args, capture_output=True, text=True, errors="replace",
                       timeout=timeout + 30)
    return p.returncode, normalize(p.stdout)


@pytest.mark.parametrize("name,append,smp", [
    ("hello", "first second", 1), ("cpuid", "count=10", 1), ("pio", "", 1), ("mmio", "", 1),
    ("timer", "", 1), ("paging", "", 1), ("badmem", "", 1), ("smp", "cpus=4", 4),
    ("realmode", "", 1)])
def test_guest_under_plain_qemu(guests, name, append, smp):
    status, out = run_plain(guests[name], append, smp)
    assert_passed(name, out)
    assert status == 1, f"{name}: QEMU exit status {status} (want 1: debug-exit 0)\n{out}"


def test_plain_hello_sees_its_command_line(guests):
    _, out = run_plain(guests["hello"], "first second")
    assert 'hello: command line "first second"' in out, out
    # The loader puts the image name first (QEMU: the path given to -kernel).
    assert re.search(r'full command line "\S*hello\.elf first second"', out), out


def test_plain_triplefault_resets(guests):
    status, out = run_plain(guests["triplefault"], timeout=60)
    assert "triplefault: loading an empty IDT" in out, out
    assert "RESULT" not in out and "still running" not in out, out
    assert status == 0, f"QEMU -no-reboot should end on the triple fault: status {status}"


def test_plain_spin_never_ends(guests):
    status, out = run_plain(guests["spin"], timeout=5)
    assert "spin: spinning forever" in out, out
    assert "RESULT" not in out, out
    assert status in (-9, 137), f"spin ended by itself (status {status})"


# ---- under the hypervisor --------------------------------------------------------------

def write_config(path, vms):
    """A configuration module: one [vm] per (name, guest, extra lines); autostart unless
    the extra lines say otherwise."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("# test guests, one VM each (tests/integration/test_guests.py)\n")
        for name, guest, extra in vms:
            f.write(f"\n[vm {name}]\nkernel = {guest}.elf\n")
            if not any(line.startswith("autostart") for line in extra):
                f.write("autostart = yes\n")
            f.write("".join(line + "\n" for line in extra))


def parse_vms(out):
    """'vms' output -> {name: (state, vcpus, reason)}."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+[\d.]+\s*(.*)$", line)
        if m:
            rows[m.group(2)] = (m.group(3), int(m.group(4)), m.group(6).strip())
    return rows


def wait_vms_end(m, names, timeout):
    deadline = time.time() + timeout
    while True:
        rows = parse_vms(m.run("vms"))
        waiting = [n for n in names if rows.get(n, ("?",))[0] not in ("stopped", "crashed")]
        if not waiting:
            return rows
        if time.time() > deadline:
            pytest.fail(f"VMs still not ended after {timeout} s: {waiting}\n{rows}")
        time.sleep(2)


def console_text(m, name):
    """A VM's console output so far (attach, then detach with Ctrl-])."""
    m.send(f"console {name}\r")
    m.expect_exact(f"[attached to '{name}'", CMD_TIMEOUT, f"console {name}")
    text = normalize(m.child.before)
    m.send("\x1d")
    m.expect_exact(f"[detached from '{name}']", CMD_TIMEOUT, "console detach")
    m.expect_exact(PROMPT, CMD_TIMEOUT, "prompt after console")
    # Drop the echoed command line.
    return text.split("\n", 1)[1] if "\n" in text else text


def exit_count(m, vm_name, reason):
    for line in m.run(f"exits {vm_name}").splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] == reason:
            return int(f[1])
    return 0


Run = collections.namedtuple("Run", "m rows backend")


@pytest.fixture(scope="module", params=[_backend_param(b) for b in BACKENDS])
def hv_guests(request, guests, tmp_path_factory):
    """One hypervisor boot per backend running its test guests as VMs (on SVM: 12 VMs,
    16 vCPUs on 4 CPUs; on VMX: 2 CPUs)."""
    from conftest import start_machine
    backend = request.param
    b = BACKENDS[backend]
    vms = vms_for(backend)
    wd = tmp_path_factory.mktemp(f"hv-guests-{backend}")
    conf = str(wd / "vms.conf")
    write_config(conf, vms)
    modules = [conf] + sorted({guests[g] for _, g, _ in vms})
    made = []
    (wd / "m").mkdir()
    try:
        m = start_machine(f"hv-guests-{backend}", str(wd / "m"), emulator=b.emulator,
                          smp=b.smp, mem=b.mem, modules=modules, on_create=made.append)
        ending = [n for n, _, _ in vms if n not in NEVER_ENDING]
        yield Run(m, wait_vms_end(m, ending, b.timeout), backend)
    finally:
        for m in made:
            m.kill()


@pytest.fixture
def hvg(request, hv_guests):
    """The backend's guest boot at a fresh prompt; skips tests marked for other backends."""
    mark = request.node.get_closest_marker("backends")
    if mark and hv_guests.backend not in mark.args:
        pytest.skip(f"applies to {', '.join(mark.args)} only")
    m = hv_guests.m
    if not hasattr(request.node, "hv_machines"):
        request.node.hv_machines = []
    request.node.hv_machines.append(m)
    m.reset_line()
    return hv_guests


def test_many_vms_more_vcpus_than_cpus(hvg):
    rows = hvg.rows
    assert len(rows) >= 6, rows
    assert sum(r[1] for r in rows.values()) > BACKENDS[hvg.backend].smp, rows
    assert rows["smp"][1] == 4, rows


@pytest.mark.parametrize("name", [v.name for v in VMS
                                  if v.name != "tf" and v.name not in NEVER_ENDING])
def test_guest_passes_under_hv(hvg, name):
    m, rows = hvg.m, hvg.rows
    v = next(v for v in VMS if v.name == name)
    if hvg.backend not in v.on:
        pytest.skip(f"{name} does not run on {hvg.backend}")
    if not vm_runs(v, hvg.backend):
        pytest.skip(f"{name} runs on {hvg.backend} in make test-full only")
    text = console_text(m, name)
    assert_passed(name, text)
    assert not [r for r in result_lines(text) if r[0] == "SKIP"], \
        f"{name}: checks skipped under hv:\n{text}"
    state, _, reason = rows[name]
    assert state == "stopped", f"{name}: state {state} ({reason})"
    assert re.search(r"status 1\b", reason), f"{name}: ended with '{reason}', want status 1"


def test_hello_boot_information_under_hv(hvg):
    text = console_text(hvg.m, "hello")
    assert 'hello: command line "hv first second"' in text, text
    assert 'full command line "hello.elf hv first second"' in text, text
    # 32 MiB VM: RAM below 640 KiB, the legacy hole reserved, RAM from 1 MiB to 32 MiB.
    assert "mem_lower 640 KiB, mem_upper 31744 KiB" in text, text
    assert "mmap: 0x0000000000-0x000009ffff type 1" in text, text
    assert "mmap: 0x00000a0000-0x00000fffff type 2" in text, text
    assert "mmap: 0x0000100000-0x0001ffffff type 1" in text, text


def test_cpuid_exit_count_matches(hvg):
    m = hvg.m
    text = console_text(m, "cpuid")
    mo = re.search(r"^cpuid: executed (\d+) CPUID instructions in total$", text, re.M)
    assert mo, text
    assert int(mo.group(1)) > CPUID_COUNT
    assert exit_count(m, "cpuid", "cpuid") == int(mo.group(1)), m.run("exits cpuid")


def test_realmode_guest_exits(hvg):
    """Real-mode REP OUTSB (DS:SI with DS != 0), CPUID and HLT exit like any others."""
    m = hvg.m
    assert console_text(m, "realmode").count("realmode: hi\n") == 2
    assert exit_count(m, "realmode", "cpuid") >= 2
    assert exit_count(m, "realmode", "hlt") >= 1


@backends("vmx")
def test_vmx_cr0_ne_write_exits(hvg):
    """VMX owns CR0.NE (fixed to 1, shown through the read shadow): the realmode guest's
    MOV CR0 that sets it on the way back to protected mode exits and the core does it."""
    m = hvg.m
    assert exit_count(m, "realmode", "cr-access") >= 1, m.run("exits realmode")
    assert "PASS: realmode round 2: CR0.NE set on the way back reads back" in \
        console_text(m, "realmode")


def test_triplefault_crashes_only_its_vm(hvg):
    m, rows = hvg.m, hvg.rows
    state, _, reason = rows["tf"]
    assert state == "crashed", rows["tf"]
    assert "triple fault" in reason, reason
    assert "loading an empty IDT" in console_text(m, "tf")
    # The others ended normally (checked per guest) and the host answers.
    assert m.run("version").startswith("hv ")


def test_virt_describes_the_backend(hvg):
    out = hvg.m.run("virt")
    if hvg.backend == "svm":
        assert re.search(r"^backend: SVM on 4 CPUs$", out, re.M), out
        assert re.search(r"^offers: SVM rev \d+, \d+ ASIDs.* NPT", out, re.M), out
    else:
        assert re.search(r"^backend: VMX on 2 CPUs$", out, re.M), out
        for words in ("EPT yes: 2M,1G", "VPID yes", "unrestricted guest yes", "INVEPT single",
                      "INVVPID addr,single", "APIC virtualization"):
            assert words in out, out
    assert re.search(r"^counters: entries \d+, vCPU migrations \d+", out, re.M), out


def _counter(text, label, which):
    mo = re.search(rf"^{which}:\s+.*{label} (\d+)", text, re.M)
    return int(mo.group(1)) if mo else None


def test_vcpus_move_between_cpus(hvg):
    """The scheduler moves a running vCPU between CPUs every few ms ('virt shuffle'): the
    backend sees it arrive elsewhere (on VMX: a VMCLEAR by IPI on the old CPU, VMPTRLD
    and a VPID flush on the new one), the guest still passes and every CPUID exit is
    counted."""
    m, backend = hvg.m, hvg.backend
    out = m.run("vm start mig")
    assert "started" in out, out
    out = m.run(f"virt shuffle mig {MIG_SHUFFLE_MS[backend]}", timeout=300)
    mo = re.search(r"(\d+) vCPU moves asked for", out)
    assert mo and int(mo.group(1)) > 0, out
    labels = ["vCPU migrations"] + (["VMCLEARs by IPI", "VPID flushes"] if backend == "vmx"
                                    else [])
    for label in labels:
        before, after = _counter(out, label, "before"), _counter(out, label, "after")
        assert before is not None and after is not None and after > before, (label, out)
    rows = wait_vms_end(m, ["mig"], BACKENDS[backend].timeout)
    text = console_text(m, "mig")
    assert_passed("mig", text)
    assert re.search(r"status 1\b", rows["mig"][2]), rows["mig"]
    mo = re.search(r"^cpuid: executed (\d+) CPUID instructions in total$", text, re.M)
    assert mo and exit_count(m, "mig", "cpuid") == int(mo.group(1)), m.run("exits mig")


def test_refused_vm_entry_ends_only_that_vm(hvg):
    """A guest-state field broken on purpose: VM entry fails, the log says why in words (on
    VMX with the guest state), the VM is crashed, the host and the other VMs go on."""
    m = hvg.m
    before = parse_vms(m.run("vms"))
    assert before["victim"][0] == "running", before
    out = m.run("virt corrupt victim")
    assert "next VM entry will fail on purpose" in out, out
    # The explanation and the guest-state dump go to the log; let them finish first.
    m.expect_exact("vm victim: crashed:", 120, "the victim VM crashing")
    m.expect_exact("\n", CMD_TIMEOUT, "the end of the crash line")
    m.reset_line()
    rows = wait_vms_end(m, ["victim"], 120)
    state, _, reason = rows["victim"]
    assert state == "crashed", rows["victim"]
    assert "VM entry refused the guest state" in reason, reason
    if hvg.backend == "svm":
        assert "EFER.SVME is clear" in reason, reason
    else:
        assert "VM-entry failure, invalid guest state (exit reason 33)" in reason, reason
        assert "guest TR is marked unusable" in reason, reason
        log = m.serial_text()
        assert re.search(r"vmx: vm victim vcpu 0: tr\s+sel=0000 ar=1[0-9a-f]{4}", log), \
            log[-3000:]
        assert "vmx: vm victim vcpu 0: controls: pin=" in log, log[-3000:]
    after = parse_vms(m.run("vms"))
    for name, row in before.items():
        if name != "victim":
            assert after[name][0] == row[0], (name, before, after)
    assert m.run("version").startswith("hv ")


def test_spin_is_preempted_and_destroyable(hvg):
    m = hvg.m
    rows = parse_vms(m.run("vms"))
    assert rows["spin"][0] == "running", rows
    assert "spinning forever" in console_text(m, "spin")
    # It keeps a vCPU busy with interrupts off, yet the shell answers at once.
    t0 = time.time()
    assert m.run("version").startswith("hv ")
    assert time.time() - t0 < 5
    out = m.run("vm destroy spin", timeout=60)
    assert "destroyed" in out, out
    assert "spin" not in parse_vms(m.run("vms"))
