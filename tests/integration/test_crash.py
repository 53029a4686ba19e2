# The fatal-error path: a deliberate fault prints CPU, vector, error code, the
# registers, CR2/CR3 and a symbolized stack trace, stops the other CPUs, halts.
import re

import pexpect
import pytest

KINDS = {
    "pf": ("14", r"#PF page fault", "crash_page_fault"),
    "gp": ("13", r"#GP general protection", "crash_general_protection"),
    "ud": ("6", r"#UD invalid opcode", "crash_invalid_opcode"),
    "de": ("0", r"#DE divide error", "crash_divide_error"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_crash_dumps_registers_and_symbolized_trace(boot, kind):
    vector, name, func = KINDS[kind]
    m = boot(smp=4, mem="256M")
    m.send(f"crash {kind}\r")
    m.expect_exact("system halted", 60, "the halt line")
    m.send("version\r")
    # The shell is gone: no further prompt appears.
    with pytest.raises(pexpect.TIMEOUT):
        m.child.expect_exact("hv> ", timeout=3)
    text = m.serial_text()
    assert re.search(rf"\*\*\* CPU 0 \(APIC 0\): exception {vector} \({name}\), "
                     r"error code 0(x[0-9a-f]+)?$", text, re.M), text
    for reg in ("RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP", "R8 ", "R15", "RIP",
                "RFLAGS", "CR0", "CR2", "CR3", "CR4"):
        assert re.search(rf"{reg}=[0-9a-f]{{4,16}}", text), f"{reg} missing"
    if kind == "pf":
        assert "CR2=fffffe0000000000" in text, "CR2 must hold the faulting address"
    trace = text[text.index("Call trace:"):]
    # The trace names the faulting function and the shell frames that led there.
    assert re.search(rf"\[<ffffffff8[0-9a-f]+>\] {func}\+0x[0-9a-f]+", trace), trace
    assert re.search(r"\] cmd_crash\+0x", trace), trace
    assert re.search(r"\] shell_exec\+0x", trace), trace
    assert "system halted: fatal exception in the hypervisor" in text
    # Every other CPU was stopped by NMI.
    for cpu in (1, 2, 3):
        assert f"CPU {cpu} stopped" in text, f"CPU {cpu} not stopped"


def test_crash_panic_and_bad_kind(boot):
    m = boot(smp=2, mem="256M")
    out = m.run("crash sideways")
    assert "unknown kind 'sideways'" in out, out
    assert m.run("version").startswith("hv ")
    m.send("crash panic\r")
    m.expect_exact("system halted: panic", 60, "the panic halt line")
    text = m.serial_text()
    assert "PANIC on CPU 0: deliberate panic requested by 'crash panic'" in text
    assert re.search(r"\] debug_crash\+0x", text), text
    assert "CPU 1 stopped" in text
