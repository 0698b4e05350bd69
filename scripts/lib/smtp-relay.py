"""A throwaway SMTP relay for the e-mail tests (aiosmtpd, from PyPI): one port that
requires STARTTLS and, after it, AUTH with the given password; one port of implicit
TLS with the same AUTH. Every message it takes is written to the mail directory as
NNNN.eml, with NNNN.meta (sender, recipients, authenticated login). Prints
"ready <starttls port> <tls port>" once both listen.

    python3 smtp-relay.py CERT KEY MAILDIR LOGIN PASSWORD STARTTLS_PORT TLS_PORT
"""

import pathlib
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

cert, key, maildir, login, password = sys.argv[1:6]
starttls_port, tls_port = int(sys.argv[6]), int(sys.argv[7])
out = pathlib.Path(maildir)
out.mkdir(parents=True, exist_ok=True)
lock = threading.Lock()


class Keep:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            n = len(list(out.glob("*.eml")))
            (out / f"{n:04}.meta").write_text(
                f"{envelope.mail_from}\n{','.join(envelope.rcpt_tos)}\n{session.auth_data.login.decode() if session.auth_data else ''}\n"
            )
            (out / f"{n:04}.eml").write_bytes(envelope.original_content or envelope.content)
        return "250 kept"


def check(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == login and auth_data.password.decode() == password
    return AuthResult(success=ok, auth_data=auth_data if ok else None)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
common = dict(hostname="127.0.0.1", authenticator=check)
starttls = Controller(Keep(), port=starttls_port, tls_context=context, require_starttls=True, auth_require_tls=True, **common)
# Every connection to this port is TLS from its first byte; aiosmtpd counts only
# STARTTLS as TLS, so its AUTH-needs-TLS rule is switched off here.
implicit = Controller(Keep(), port=tls_port, ssl_context=context, auth_require_tls=False, **common)
starttls.start()
implicit.start()
print(f"ready {starttls_port} {tls_port}", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
starttls.stop()
implicit.stop()
