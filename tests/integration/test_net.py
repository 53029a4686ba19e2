# The management network: NIC drivers (e1000, virtio-net), DHCP and static addresses, ping,
# and the telnet shell (login, sessions, limits, robustness) through QEMU's user network with
# a host port forwarded on 127.0.0.1 only; once more under Bochs with e1000 and slirp.
import os
import random
import re
import select
import shutil
import socket
import struct
import threading
import time

import pytest

from conftest import PROMPT, _attach, elf_defines, start_machine

PASSWORD = "s3cret-Pw"
MAC = "52:54:00:12:34:56"
MAX_SESSIONS = 3
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, NAWS = 1, 3, 31
NICS = ["e1000", "virtio-net-pci"]
DRIVER = {"e1000": "e1000", "virtio-net-pci": "virtio-net"}

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(
    os.environ.get("HV_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build")),
    "hv.elf")) or not elf_defines("net_init"), reason="no network code in the image")


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Telnet:
    """A small telnet client: answers option negotiation like a character-mode client."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.data = b""       # received data, protocol removed
        self.pending = b""    # an incomplete IAC sequence
        self.eof = False
        self.negotiated = []  # (verb, option) seen from the server

    def _reply(self, verb, opt):
        self.negotiated.append((verb, opt))
        if verb == WILL:
            self.sock.sendall(bytes([IAC, DO if opt in (ECHO, SGA) else DONT, opt]))
        elif verb == DO:
            if opt == NAWS:
                self.sock.sendall(bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 100, 0, 40, IAC, SE]))
            else:
                self.sock.sendall(bytes([IAC, WILL if opt == SGA else WONT, opt]))

    def _parse(self, chunk):
        buf = self.pending + chunk
        self.pending = b""
        i = 0
        while i < len(buf):
            c = buf[i]
            if c != IAC:
                j = buf.find(bytes([IAC]), i)
                j = len(buf) if j < 0 else j
                self.data += buf[i:j]
                i = j
                continue
            if i + 1 >= len(buf):
                self.pending = buf[i:]
                return
            verb = buf[i + 1]
            if verb == IAC:
                self.data += b"\xff"
                i += 2
            elif verb in (WILL, WONT, DO, DONT):
                if i + 2 >= len(buf):
                    self.pending = buf[i:]
                    return
                self._reply(verb, buf[i + 2])
                i += 3
            else:
                i += 2

    def _recv(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, OSError):
            chunk = b""
        if not chunk:
            self.eof = True
        self._parse(chunk)

    def read_until(self, marker, timeout=30):
        marker = marker.encode() if isinstance(marker, str) else marker
        end = time.monotonic() + timeout
        while marker not in self.data:
            if self.eof or time.monotonic() > end:
                raise AssertionError(f"no {marker!r} within {timeout} s (eof={self.eof}); "
                                     f"got {self.data[-2000:]!r}")
            self._recv(min(0.5, max(0.01, end - time.monotonic())))
        before, _, self.data = self.data.partition(marker)
        return before

    def read_to_eof(self, timeout=30):
        end = time.monotonic() + timeout
        while not self.eof:
            if time.monotonic() > end:
                raise AssertionError(f"connection still open after {timeout} s: "
                                     f"{self.data[-2000:]!r}")
            self._recv(0.5)
        out, self.data = self.data, b""
        return text(out)

    def send(self, b):
        self.sock.sendall(b.encode() if isinstance(b, str) else b)

    def login(self, password=PASSWORD):
        banner = self.read_until("Password: ")
        self.send(password + "\r\n")
        self.read_until("\n" + PROMPT)
        return text(banner)

    def run(self, cmd, timeout=30):
        """Send a command line; its output up to the next prompt, without the echo."""
        self.send(cmd + "\r\n")
        out = text(self.read_until("\r\n" + PROMPT, timeout))
        return out.split("\n", 1)[1] + "\n" if "\n" in out else ""

    def close(self):
        self.sock.close()

    def reset(self):
        """Close abruptly: the client's TCP sends RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def text(b):
    return b.replace(b"\r\0", b"\r").replace(b"\r\n", b"\n").replace(b"\r", b"").decode(
        "utf-8", "replace")


def serial_sessions(m):
    """Telnet session ids listed by `who` on the serial console."""
    return [int(x) for x in re.findall(r"^[ *] (\d+) ", m.run("who"), re.M)]


def wait_sessions_gone(m, keep=(), timeout=20):
    end = time.monotonic() + timeout
    while True:
        left = [s for s in serial_sessions(m) if s not in keep]
        if not left:
            return
        assert time.monotonic() < end, f"sessions {left} still listed by 'who'"
        time.sleep(0.5)


def who_counter(m, what):
    return int(re.search(r"(\d+) " + what, m.run("who")).group(1))


class NetVM:
    def __init__(self, machine, port):
        self.m = machine
        self.port = port

    def connect(self):
        return Telnet(self.port)

    def session(self):
        t = self.connect()
        t.login()
        return t


def wait_address(m, timeout=60):
    """Poll `net` until the interface has an address; returns the log's address line."""
    end = time.monotonic() + timeout
    while "no address yet" in m.run("net") or "no network" in m.run("net"):
        assert time.monotonic() < end, f"no address within {timeout} s:\n{m.run('log')}"
        time.sleep(0.5)
    return re.search(r"net: address .*", m.run("log")).group(0)


def boot_net(name, workdir, nic, cmdline, port, guest_port=23):
    """Boot with the NIC on QEMU's user network; the console shows errors only, so that
    session messages do not interleave with command output (`log` has them all)."""
    extra = ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:{guest_port}",
             "-device", f"{nic},netdev=n0,mac={MAC}"]
    m = start_machine(name, workdir, smp=2, cmdline=cmdline + " loglevel=3", extra=extra)
    m.address_line = wait_address(m)
    return m


@pytest.fixture(scope="module", params=NICS)
def netvm(request, tmp_path_factory):
    nic = request.param
    port = free_port()
    wd = tmp_path_factory.mktemp(f"net-{nic}")
    m = boot_net(f"net-{nic}", str(wd), nic,
                 f"console=com1 password={PASSWORD} telnet_max={MAX_SESSIONS}", port)
    vm = NetVM(m, port)
    vm.nic = nic
    yield vm
    m.kill()


@pytest.fixture
def net(request, netvm):
    _attach(request.node, netvm.m)
    netvm.m.reset_line()
    wait_sessions_gone(netvm.m)
    return netvm


def test_dhcp_address_and_net_command(net):
    assert re.search(r"10\.0\.2\.15/24 gateway 10\.0\.2\.2 \(DHCP\)", net.m.address_line), \
        net.m.address_line
    out = net.m.run("net")
    assert re.search(rf"^eth0: {DRIVER[net.nic]} at 00:\w\w\.\d, MAC {MAC}, (INTx|MSI) vector",
                     out, re.M), out
    assert "link up, address 10.0.2.15/24, gateway 10.0.2.2 (DHCP)" in out, out
    rx = int(re.search(r"rx: (\d+) packets", out).group(1))
    irqs = int(re.search(r"interrupts: (\d+)", out).group(1))
    assert rx > 0 and irqs > 0, out
    assert re.search(rf"telnet: port 23, up to {MAX_SESSIONS} sessions", out), out
    # the counters move: a session's traffic shows up
    t = net.session()
    t.run("version")
    t.close()
    out2 = net.m.run("net")
    assert int(re.search(r"rx: (\d+) packets", out2).group(1)) > rx, out2
    assert int(re.search(r"interrupts: (\d+)", out2).group(1)) > irqs, out2


def test_login_and_commands(net):
    t = net.connect()
    banner = t.login()
    assert re.search(r"hv \S+ management shell \(session \d+\)", banner), banner
    # the server offered to echo and suppress go-ahead, and asked for the window size
    assert (WILL, ECHO) in t.negotiated and (WILL, SGA) in t.negotiated, t.negotiated
    assert (DO, NAWS) in t.negotiated, t.negotiated
    assert t.run("version") == net.m.run("version")
    helptext = t.run("help")
    for cmd in ("who", "kick", "net", "exit", "version"):
        assert re.search(rf"^  {cmd} ", helptext, re.M), helptext
    assert t.run("frobnicate") == "unknown command 'frobnicate' (try 'help')\n"
    assert "10.0.2.15/24" in t.run("net")
    who = t.run("who")
    me = re.search(r"^\* (\d+) +10\.0\.2\.2:\d+ .*shell \(100x40\)$", who, re.M)
    assert me, who
    assert re.search(r"^  serial +console", who, re.M), who
    # line editing as on serial: Backspace, Ctrl-U, history
    t.send("verx\x7fsion\r\n")
    assert "hv " in text(t.read_until("\r\n" + PROMPT))
    t.send("junk\x15version\r\n")
    assert "unknown command" not in text(t.read_until("\r\n" + PROMPT))
    t.send("\x1b[A\r\n")  # Up: the last line again
    assert "hv " in text(t.read_until("\r\n" + PROMPT))
    t.send("exit\r\n")
    assert "[session closed: logged out]" in t.read_to_eof()
    log = net.m.run("log")
    assert f"session {me.group(1)} (10.0.2.2" in log
    # the boot log shows the command line without the password
    assert "password=*** " in log and PASSWORD not in log, log


def test_wrong_password_delayed_and_counted(net):
    before = who_counter(net.m, "wrong passwords")
    t = net.connect()
    t.read_until("Password: ")
    start = time.monotonic()
    t.send("not-the-password\r\n")
    t.read_until("Login incorrect")
    delay = time.monotonic() - start
    assert delay >= 0.9, f"wrong password answered after {delay:.2f} s"
    t.read_until("Password: ")
    t.send(PASSWORD + "\r\n")
    t.read_until("\n" + PROMPT)
    assert t.run("version").startswith("hv ")
    t.close()
    assert who_counter(net.m, "wrong passwords") == before + 1
    assert "telnet: wrong password from 10.0.2.2" in net.m.run("log")


def test_three_wrong_passwords_close(net):
    t = net.connect()
    for _ in range(3):
        t.read_until("Password: ")
        t.send("guess\r\n")
    rest = t.read_to_eof(timeout=30)
    assert "Too many wrong passwords" in rest, rest


def test_two_sessions_at_once(net):
    a, b = net.session(), net.session()
    assert a.run("version") == b.run("version")
    who = b.run("who")
    ids = re.findall(r"^[ *] (\d+) +10\.0\.2\.2", who, re.M)
    assert len(ids) == 2, who
    a.send("ver")     # half a line in a ...
    assert b.run("net").startswith("eth0:")   # ... does not disturb b
    a.send("sion\r\n")
    assert "hv " in text(a.read_until("\r\n" + PROMPT))
    a.close()
    b.close()


def test_abrupt_disconnect_leaves_others_working(net):
    a = net.session()
    b = net.session()
    a_id = int(re.search(r"^\* (\d+)", a.run("who"), re.M).group(1))
    a.send("vers")   # mid-command
    a.reset()
    assert b.run("version").startswith("hv ")
    wait_sessions_gone(net.m, keep=[int(re.search(r"^\* (\d+)", b.run("who"), re.M).group(1))])
    assert a_id not in serial_sessions(net.m)
    assert b.run("version").startswith("hv ")
    b.close()
    assert net.m.run("version").startswith("hv ")


def flood(t, nbytes, seed):
    """Send nbytes of random bytes while reading everything the server sends back."""
    rnd = random.Random(seed)
    payload = bytes(rnd.getrandbits(8) for _ in range(nbytes))
    sent = 0
    # a small send buffer: what send() accepted has nearly all reached the hypervisor
    t.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    t.sock.setblocking(False)
    end = time.monotonic() + 240
    try:
        while sent < len(payload) and time.monotonic() < end:
            r, w, _ = select.select([t.sock], [t.sock], [], 1)
            if r:
                try:
                    if not t.sock.recv(65536):
                        break
                except BlockingIOError:
                    pass
            if w:
                try:
                    sent += t.sock.send(payload[sent:sent + 16384])
                except BlockingIOError:
                    pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        t.sock.setblocking(True)
        t.sock.settimeout(30)
    return sent


def test_random_flood_leaves_shell_working(net):
    # before login: wrong "passwords" are delayed, then the connection is closed
    pre = net.connect()
    flood(pre, 256 * 1024, 1)
    pre.close()
    # after login: 1 MiB of random bytes (telnet commands included) into a live shell
    victim = net.session()
    other = net.session()
    start = time.monotonic()
    sent = flood(victim, 1 << 20, 2)
    took = time.monotonic() - start
    assert sent == 1 << 20, f"only {sent} bytes accepted in {took:.0f} s"
    assert other.run("version").startswith("hv ")
    assert net.m.run("version").startswith("hv ")
    # the flooded session recovers: end any subnegotiation, Ctrl-C, then a command
    victim.data = b""
    victim.send(bytes([IAC, SE]) + b"\x03")
    victim.send("version\r\n")
    victim.read_until("\r\nhv 0", timeout=60)
    victim.close()
    other.close()
    print(f"1 MiB flood took {took:.1f} s")


def test_session_limit_refused_politely(net):
    sessions = [net.session() for _ in range(MAX_SESSIONS)]
    extra = net.connect()
    msg = extra.read_to_eof(timeout=30)
    assert "too many sessions" in msg, msg
    assert sessions[0].run("version").startswith("hv ")
    sessions[0].send("exit\r\n")
    sessions[0].read_to_eof()
    wait_sessions_gone(net.m, keep=serial_sessions(net.m)[-(MAX_SESSIONS - 1):])
    again = net.session()
    assert again.run("version").startswith("hv ")
    for t in sessions[1:] + [again]:
        t.close()
    assert who_counter(net.m, r"refused \(full\)") >= 1


def test_many_connections_at_once(net):
    socks = []
    for _ in range(12):
        try:
            socks.append(socket.create_connection(("127.0.0.1", net.port), timeout=10))
        except OSError:
            pass
    for s in socks:
        s.close()
    wait_sessions_gone(net.m)
    t = net.session()
    assert t.run("version").startswith("hv ")
    t.close()


def test_kick_from_serial(net):
    t = net.session()
    sid = int(re.search(r"^\* (\d+)", t.run("who"), re.M).group(1))
    assert net.m.run(f"kick {sid}") .startswith(f"session {sid} (10.0.2.2:")
    assert "[session closed: closed by the operator]" in t.read_to_eof()
    assert net.m.run("kick 99999") == "kick: no session 99999 (see 'who')\n"
    assert net.m.run("exit") == "exit: the serial console stays open\n"


def test_static_address_port_and_idle_timeout(boot, tmp_path):
    port = free_port()
    m = boot_net("static", str(tmp_path), "e1000",
                 f"console=com1 password={PASSWORD} ip=10.0.2.15/24 gw=10.0.2.2 "
                 "telnet_port=2323 telnet_idle=3", port, guest_port=2323)
    try:
        assert "10.0.2.15/24 gateway 10.0.2.2 (static)" in m.address_line, m.address_line
        assert "(static)" in m.run("net")
        t = Telnet(port)
        t.login()
        assert t.run("version").startswith("hv ")
        start = time.monotonic()
        rest = t.read_to_eof(timeout=20)
        idle = time.monotonic() - start
        assert "idle for 3 s: closing the session" in rest, rest
        assert 2 <= idle <= 10, idle
    finally:
        m.kill()


# -- raw Ethernet over QEMU's UDP socket backend: ARP and ping without a host network stack --

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip_bytes(s):
    return socket.inet_aton(s)


PEER_MAC = mac_bytes("02:00:00:00:00:99")
PEER_IP = "10.0.2.99"
HV_IP = "10.0.2.15"


def arp_request():
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, ip_bytes(PEER_IP),
                      b"\0" * 6, ip_bytes(HV_IP))
    return b"\xff" * 6 + PEER_MAC + b"\x08\x06" + arp


def icmp_echo(ident, seq, payload, dst_mac):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0x1234, 0, 64, 1, 0,
                      ip_bytes(PEER_IP), ip_bytes(HV_IP))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return dst_mac + PEER_MAC + b"\x08\x00" + hdr + icmp


def wait_frame(sock, match, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], 0.5)
        if r:
            frame = sock.recv(65536)
            if match(frame):
                return frame
    return None


def test_ping_arp_and_telnet_off(boot, tmp_path):
    qemu_port, my_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", my_port))
    try:
        m = boot(cmdline=f"console=com1 loglevel=3 ip={HV_IP}/24", smp=2, extra=[
            "-netdev", f"socket,id=n0,udp=127.0.0.1:{my_port},localaddr=127.0.0.1:{qemu_port}",
            "-device", f"e1000,netdev=n0,mac={MAC}"])
        assert "telnet: off (no password= on the command line)" in m.run("log")
        dst = ("127.0.0.1", qemu_port)
        # garbage first: runt frames, random frames, a bad IP checksum
        rnd = random.Random(3)
        for n in (1, 13, 14, 60, 1514, 3000):
            sock.sendto(bytes(rnd.getrandbits(8) for _ in range(n)), dst)
        bad = bytearray(icmp_echo(1, 1, b"x" * 8, mac_bytes(MAC)))
        bad[24] ^= 0xff
        sock.sendto(bytes(bad), dst)
        # ARP: who has 10.0.2.15?
        sock.sendto(arp_request(), dst)
        reply = wait_frame(sock, lambda f: f[12:14] == b"\x08\x06" and f[20:22] == b"\0\x02")
        assert reply is not None, "no ARP reply"
        assert reply[22:28] == mac_bytes(MAC) and reply[28:32] == ip_bytes(HV_IP)
        # ping with a payload that must come back unchanged
        payload = bytes(range(56))
        for seq in range(1, 4):
            sock.sendto(icmp_echo(0x4242, seq, payload, mac_bytes(MAC)), dst)
            echo = wait_frame(sock, lambda f: f[12:14] == b"\x08\x00" and f[23] == 1 and
                              f[34] == 0 and struct.unpack("!HH", f[38:42]) == (0x4242, seq))
            assert echo is not None, f"no echo reply for seq {seq}"
            assert echo[26:30] == ip_bytes(HV_IP) and echo[30:34] == ip_bytes(PEER_IP)
            assert echo[42:42 + len(payload)] == payload
            assert csum(echo[14:34]) == 0 and csum(echo[34:14 + struct.unpack("!H", echo[16:18])[0]]) == 0
        out = m.run("net")
        assert "(static)" in out and "telnet: off" in out, out
        assert int(re.search(r"rx: (\d+) packets", out).group(1)) >= 5, out
    finally:
        sock.close()


@pytest.mark.bochs
@pytest.mark.skipif(shutil.which("bochs") is None, reason="bochs not installed")
def test_bochs_e1000_slirp_login(boot, tmp_path):
    port = free_port()
    conf = tmp_path / "slirp.conf"
    conf.write_text(f"# slirp config\nhostfwd = tcp:127.0.0.1:{port}-:23\n")
    m = boot(emulator="bochs", smp=2, mem="256M",
             cmdline=f"console=com1 loglevel=3 password={PASSWORD}",
             bochs_extra=["pci: enabled=1, chipset=i440fx, slot1=e1000",
                          f"e1000: enabled=1, mac={MAC}, ethmod=slirp, script={conf}"])
    wait_address(m, timeout=120)
    t = Telnet(port, timeout=60)
    t.login()
    assert t.run("version", timeout=60) == m.run("version")
    out = t.run("net", timeout=60)
    assert re.search(rf"eth0: e1000 at .*MAC {MAC}", out), out
    assert "link up, address 10.0.2.15/24" in out, out
    t.send("exit\r\n")
    assert "logged out" in t.read_to_eof(timeout=60)


def test_no_nic_one_log_line(boot):
    m = boot(cmdline="console=com1 loglevel=3 password=x", smp=2, extra=["-nic", "none"])
    log = m.run("log")
    assert "net: no network interface found" in log, log
    assert "telnet:" not in log, log
    assert m.run("net") == "net: no network interface in use\n"


def test_e1000e_with_msi(boot, tmp_path):
    """QEMU's e1000e (82574L) runs on the same driver and has MSI: the MSI path is used."""
    port = free_port()
    m = boot_net("e1000e", str(tmp_path), "e1000e", f"console=com1 password={PASSWORD}", port)
    try:
        out = m.run("net")
        assert re.search(rf"eth0: e1000 at \S+, MAC {MAC}, MSI vector 0x", out), out
        t = Telnet(port)
        t.login()
        assert t.run("version").startswith("hv ")
        t.close()
        irqs = int(re.search(r"interrupts: (\d+)", m.run("net")).group(1))
        assert irqs > 0
        assert re.search(r"^00:\w\w\.\d 8086:10d3 .* msi .*\(in use\)$", m.run("pci"), re.M)
    finally:
        m.kill()


def qmp(path, command, **arguments):
    """One QMP command on QEMU's control socket; returns the reply."""
    import json
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        f = s.makefile("rw")
        json.loads(f.readline())  # greeting
        for msg in ({"execute": "qmp_capabilities"},
                    {"execute": command, "arguments": arguments}):
            f.write(json.dumps(msg) + "\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "return" in reply or "error" in reply:
                    break
        return reply


def wait_net(m, pattern, timeout=20):
    end = time.monotonic() + timeout
    while not re.search(pattern, out := m.run("net")):
        assert time.monotonic() < end, out
        time.sleep(0.5)
    return out


@pytest.mark.parametrize("nic", NICS)
def test_link_down_and_up(boot, tmp_path, nic):
    port = free_port()
    sock = str(tmp_path / "qmp.sock")
    m = start_machine(f"link-{nic}", str(tmp_path), smp=2,
                      cmdline=f"console=com1 loglevel=3 password={PASSWORD}",
                      extra=["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:23",
                             "-device", f"{nic},netdev=n0,mac={MAC}",
                             "-qmp", f"unix:{sock},server=on,wait=off"])
    try:
        wait_address(m)
        assert "return" in qmp(sock, "set_link", name="n0", up=False)
        wait_net(m, r"link down")
        assert qmp(sock, "set_link", name="n0", up=True).get("return") == {}
        wait_net(m, r"link up, address 10\.0\.2\.15")
        log = m.run("log")
        assert "net: eth0 link down" in log and log.rindex("link up") > log.index("link down")
        t = Telnet(port)
        t.login()
        assert t.run("version").startswith("hv ")
        t.close()
    finally:
        m.kill()
