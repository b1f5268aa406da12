"""A real Dovecot (Debian's dovecot-imapd + dovecot-lmtpd) for one test: IMAPS and LMTP on loopback ports.

Everything lives in a temporary folder: a throwaway configuration (no ``/etc/dovecot``), a self-signed
certificate made with the ``openssl`` command for ``127.0.0.1``, a passwd-file with one user, Maildirs.
Dovecot runs in the foreground (``-F``) as a child of the test process and is stopped by its PID, so a
test leaves nothing behind; restarting it keeps the mail and the ports.
"""

from __future__ import annotations

import getpass
import mailbox
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.proc_helpers import alive, descendants, wait_gone

DOVECOT = "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and localhost), valid for a day."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    return cert, key


CONFIG = """\
# throwaway configuration of one test (no /etc/dovecot)
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
# a refused login is answered at once in tests (servers delay it: 2 s by default)
auth_failure_delay = 0
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:{root}/mail/%n
{privileges}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@localhost
}}
protocol imap {{
  imap_idle_notify_interval = 2 mins
{capability}}}
"""
# What a server without IDLE announces (Dovecot still has the command; a client must not use it unannounced).
NO_IDLE = "  imap_capability = IMAP4rev1 SASL-IR LITERAL+ ENABLE UIDPLUS\n"


@dataclass
class Dovecot:
    """``Dovecot.create()`` makes the folder; ``stop()`` then ``cleanup()`` (or ``with``) remove everything."""

    root: Path
    user: str = "erika"
    password: str = "app-pw-Zq7!x9"
    idle: bool = True
    imaps_port: int = field(default_factory=free_port)
    lmtp_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        self.cert, self.key = make_certificate(self.root)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        privileges = ""
        self.uid, self.gid = os.getuid(), os.getgid()
        if os.geteuid() == 0:  # Dovecot refuses to keep mail as root: the mailbox belongs to "nobody"
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            for sub in ("mail", "home"):
                os.chown(self.root / sub, self.uid, self.gid)
        else:  # unprivileged: every Dovecot process runs as the test's user
            me = getpass.getuser()
            privileges = (f"default_internal_user = {me}\ndefault_internal_group = {me}\n"
                          f"default_login_user = {me}\n")
        self.config = self.root / "dovecot.conf"
        self.config.write_text(CONFIG.format(root=self.root, cert=self.cert, key=self.key, uid=self.uid,
                                             gid=self.gid, imaps_port=self.imaps_port, lmtp_port=self.lmtp_port,
                                             privileges=privileges, capability="" if self.idle else NO_IDLE))
        (self.root / "passwd").chmod(0o644)  # read by Dovecot's auth process (its own unprivileged user)

    @classmethod
    def create(cls, **kw: object) -> Dovecot:
        """In a folder of its own under the system's temp dir: Dovecot's unprivileged processes must be able
        to enter it (pytest's ``tmp_path`` is private to the test's user)."""
        root = Path(tempfile.mkdtemp(prefix="mta-dovecot-"))
        root.chmod(0o711)
        return cls(root, **kw)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user

    def start(self) -> Dovecot:
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        self._wait_listening()
        return self

    def _wait_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited ({self.process.returncode}): {self.log()[-2000:]}")
            if all(_listening(port) for port in (self.imaps_port, self.lmtp_port)):
                return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen within {timeout} s: {self.log()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM to the master (by PID); its children (logins, imap, lmtp, log, anvil) go with it."""
        if self.process is None:
            return
        children = [pid for pid in descendants(self.process.pid)]
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        # Its children outlive the master by ~10 s (they notice its pipe closed late): tell them too, by PID
        # only (what this Dovecot started), so a restart in a test takes a second, not ten.
        for signum, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            for pid in alive(children):
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass
            if not wait_gone(children, timeout=wait):
                break
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- mail ----------------------------------------------------------------------------------
    def deliver(self, message: bytes, to: str | None = None, sender: str = "noreply@example.org") -> None:
        """Deliver over LMTP, as a mail server would."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=15) as lmtp:
            lmtp.sendmail(sender, [to or self.user], message)

    def drop_into_maildir(self, message: bytes) -> None:
        """Put a message into the Maildir directly (delivered while the IMAP server was down)."""
        box = mailbox.Maildir(self.maildir, create=True)
        box.add(mailbox.MaildirMessage(message))
        for path in [self.maildir, *self.maildir.rglob("*")]:
            os.chown(path, self.uid, self.gid)

    def messages(self) -> list[mailbox.MaildirMessage]:
        """The mailbox as the server keeps it (flags included), read from disk."""
        box = mailbox.Maildir(self.maildir, create=False)
        return [box.get_message(key) for key in box.keys()]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
