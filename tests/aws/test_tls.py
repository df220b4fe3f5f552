"""The database connection on AWS: TLS verified against the CA bundle, SCRAM, nothing else.

The server is reached through a TLS-only proxy as RDS Proxy fronts Aurora (see
``tests.aws.aurora``); the proxy reports the TLS session each connection had.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pg8000.exceptions import DatabaseError

from lms_platform.db import _ssl_context, open_connection, sqlstate
from tests.aws.aurora import ADMIN_USER, TlsProxy
from tests.aws.conftest import Aurora
from tests.aws.pki import CertificateAuthority

pytestmark = pytest.mark.integration


def test_tls_connection_with_the_right_ca_is_encrypted_and_verified(aurora: Aurora) -> None:
    # Given the CA bundle that issued the server's certificate
    params = aurora.tls_params(ADMIN_USER, aurora.postgres.admin_password)
    # When a connection is opened with TLS on
    connection = open_connection(params)
    try:
        # Then it is logged in, and the proxy held a TLS 1.2+ session for exactly it
        assert connection.run("SELECT current_user") == [[ADMIN_USER]]
        session = aurora.proxy.session_of(connection)
        assert session is not None
        assert session.version in {"TLSv1.2", "TLSv1.3"}
    finally:
        connection.close()
    # And the context that verified it checks both the chain and the name
    context = _ssl_context(str(aurora.ca_file))
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_tls_connection_by_the_dns_name_on_the_certificate_works(aurora: Aurora) -> None:
    # Given the certificate names localhost as well as 127.0.0.1
    params = aurora.tls_params(ADMIN_USER, aurora.postgres.admin_password, host="localhost")
    # When the client connects by that name
    connection = open_connection(params)
    try:
        # Then it is verified and the name went out as SNI, as it does to a proxy endpoint
        session = aurora.proxy.session_of(connection)
        assert session is not None and session.server_name == "localhost"
    finally:
        connection.close()


def test_a_server_certificate_from_another_ca_is_refused(aurora: Aurora, tmp_path: Path) -> None:
    # Given a CA bundle holding some other CA only
    other_bundle = CertificateAuthority("some other CA").write(tmp_path / "other-ca.pem")
    params = aurora.tls_params(
        ADMIN_USER, aurora.postgres.admin_password, ca_file=str(other_bundle)
    )
    # When the client connects
    with pytest.raises(ssl.SSLCertVerificationError) as raised:
        open_connection(params)
    # Then the chain does not verify
    assert raised.value.verify_message == "unable to get local issuer certificate"


def test_a_certificate_for_another_name_fails_hostname_verification(
    aurora: Aurora, certificate_authority: CertificateAuthority, tmp_path: Path
) -> None:
    # Given a proxy on 127.0.0.1 whose certificate, from the trusted CA, names another host
    misnamed = TlsProxy(
        certificate_authority.issue_server_certificate("db.example.internal"),
        tmp_path / "misnamed",
        aurora.postgres.port,
    )
    try:
        params = aurora.tls_params(ADMIN_USER, aurora.postgres.admin_password, port=misnamed.port)
        # When the client connects to 127.0.0.1 through it
        with pytest.raises(ssl.SSLCertVerificationError) as raised:
            open_connection(params)
        # Then the chain verified but the name did not, and nothing reached the server
        assert raised.value.verify_message.startswith("IP address mismatch")
        assert misnamed.sessions == {}
    finally:
        misnamed.stop()


def test_a_connection_without_tls_is_refused(aurora: Aurora) -> None:
    # Given the right user and password, TLS off
    params = aurora.tls_params(ADMIN_USER, aurora.postgres.admin_password, tls=False)
    refused_before = aurora.proxy.refused_plain
    # When the client connects
    with pytest.raises(DatabaseError) as raised:
        open_connection(params)
    # Then the proxy refuses it before any password is asked (invalid authorization)
    assert sqlstate(raised.value) == "28000"
    assert aurora.proxy.refused_plain == refused_before + 1


def test_a_wrong_password_over_tls_is_refused(aurora: Aurora) -> None:
    # Given a verified TLS connection with the wrong password
    params = aurora.tls_params(ADMIN_USER, "not-the-password")
    # When the client connects
    with pytest.raises(DatabaseError) as raised:
        open_connection(params)
    # Then SCRAM authentication fails (invalid_password)
    assert sqlstate(raised.value) == "28P01"
