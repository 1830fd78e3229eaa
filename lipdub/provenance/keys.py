"""Signing credentials for the C2PA manifest: the user's certificate, or a local one.

With ``--sign-cert CERT.pem --sign-key KEY.pem`` the user's certificate chain (leaf first)
and private key sign the manifest. Without them lipdub uses a key pair generated once per
installation in its config folder (``<user config dir>/lipdub/signing/``, key file mode
0600): a local root certificate and a signing certificate issued by it. No validator trusts
that root, so such manifests verify as *untrusted signer* (the content and its edit history
are still tamper-evident).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lipdub.errors import InputError

#: Environment variable naming another folder for the local signing key.
KEY_DIR_ENV = "LIPDUB_SIGNING_DIR"
#: Validity of a locally generated certificate.
LOCAL_VALID_DAYS = 3650


@dataclass(frozen=True)
class SigningKey:
    """A PEM certificate chain (leaf first), its PEM private key and the C2PA algorithm."""

    certificate: bytes
    private_key: bytes
    algorithm: str
    #: True for the locally generated key (validators report it as untrusted).
    local: bool


def signing_dir() -> Path:
    """Where the local signing key lives: ``$LIPDUB_SIGNING_DIR``, ``$LIPDUB_HOME/signing``,
    else ``<user config dir>/lipdub/signing``."""
    override = os.environ.get(KEY_DIR_ENV)
    if override:
        return Path(override)
    home = os.environ.get("LIPDUB_HOME")  # one folder for all of lipdub's state (and tests)
    if home:
        return Path(home).expanduser() / "signing"
    import platformdirs

    return Path(platformdirs.user_config_dir("lipdub")) / "signing"


def algorithm_for(private_key: bytes, where: str) -> str:
    """The C2PA signing algorithm name for a PEM private key (ES256/384/512, PS256, Ed25519)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_private_key(private_key, password=None)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: not an unencrypted PEM private key ({exc})") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curves = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in curves:
            return curves[key.curve.name]
    raise InputError(f"{where}: unsupported key type for C2PA signing")


def user_key(cert: Path, key: Path) -> SigningKey:
    """The user's certificate chain and key; InputError when either is unreadable."""
    blobs = []
    for path, what in ((cert, "--sign-cert"), (key, "--sign-key")):
        try:
            blobs.append(Path(path).read_bytes())
        except OSError as exc:
            raise InputError(f"{what} {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in blobs[0]:
        raise InputError(f"--sign-cert {cert}: not a PEM certificate chain")
    return SigningKey(blobs[0], blobs[1], algorithm_for(blobs[1], f"--sign-key {key}"), False)


def signing_key(cert: Path | None = None, key: Path | None = None) -> SigningKey:
    """The key to sign with: the user's pair when given (both or neither), else the local one."""
    if (cert is None) != (key is None):
        raise InputError("--sign-cert and --sign-key go together: give both or neither")
    if cert is not None and key is not None:
        return user_key(cert, key)
    return local_key()


#: Held while this process makes or reads the local key pair (a batch dubs on several threads).
_LOCAL_KEY_LOCK = threading.Lock()


def local_key(folder: Path | None = None) -> SigningKey:
    """The installation's own key pair, generated on first use. Dubs that start at once, in
    threads or processes, all get the one pair (never a key and another pair's certificate)."""
    folder = folder or signing_dir()
    cert_path, key_path = folder / "certificate.pem", folder / "key.pem"
    with _LOCAL_KEY_LOCK, _folder_lock(folder):
        if not (cert_path.is_file() and key_path.is_file()):
            _generate(folder, cert_path, key_path)
        private_key, chain = key_path.read_bytes(), cert_path.read_bytes()
    return SigningKey(chain, private_key, "es256", True)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder``'s lock file against other processes (where the system
    has ``flock``; elsewhere only the threads of this process are kept apart)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _generate(folder: Path, cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lipdub (local, untrusted)"),
            ]
        )

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not sign,
            crl_sign=not sign,
            encipher_only=False,
            decipher_only=False,
        )

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=LOCAL_VALID_DAYS)
    root_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root = (
        x509.CertificateBuilder()
        .subject_name(name("lipdub local root"))
        .issuer_name(name("lipdub local root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("lipdub local signer"))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + root.public_bytes(pem)
    private = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(key_path, private)  # the folder exists: local_key locked a file in it
    cert_path.write_bytes(chain)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file only its owner can read (mode 0600 from the start)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(temp, 0o600)
    os.replace(temp, path)
