"""Django settings, all chosen by environment variables so one code base serves the office PC
(SQLite + key file in ``MNVAULT_DATA_DIR``) and the firm's PostgreSQL cluster.

Nothing secret has a default: the secret key and the key-encryption key are created by
``mnvault init`` in the data directory (mode 0600) or given by the environment.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from dj_database_url import DBConfig
from django.core.exceptions import ImproperlyConfigured

from mnvault import paths

DATA_DIR = paths.data_dir()

SECRET_KEY = os.environ.get("MNVAULT_SECRET_KEY") or paths.read_secret_key()
DEBUG = os.environ.get("MNVAULT_DEBUG") == "1"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("MNVAULT_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mnvault.accounts",
    "mnvault.companies",
    "mnvault.people",
    "mnvault.collection",
    "mnvault.usage",
    "mnvault.retention",
    "mnvault.backup",
    "mnvault.vault",
    "mnvault.audit",
    "mnvault.scheduler",
    "mnvault.oversight",
    "mnvault.web",
    "mnvault.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mnvault.web.middleware.security_headers",
    "mnvault.web.middleware.office_only",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "mnvault.web.middleware.limit_parameters",
    "mnvault.web.middleware.idle_timeout",
    "mnvault.web.middleware.require_two_factor",
    "mnvault.web.middleware.allowed_networks",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mnvault.urls"
WSGI_APPLICATION = "mnvault.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mnvault.web.context.companies",
            ],
        },
    },
]


def _sqlite(path: Path, *, synchronous: str = "NORMAL") -> DBConfig:
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN, which
    # is what serialises audit appends across processes (docs/architecture.md, "Audit log").
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                f"PRAGMA journal_mode=WAL;PRAGMA synchronous={synchronous};PRAGMA secure_delete=ON"
            ),
        },
    }


def _databases() -> dict[str, DBConfig]:
    # The key store commits with FULL sync: a key-store commit must never be lost while the
    # key file (fsynced) already relies on it, as after a KEK rotation.
    url = os.environ.get("DATABASE_URL")
    if not url:
        return {
            "default": _sqlite(DATA_DIR / "mnvault.sqlite3"),
            "keys": _sqlite(DATA_DIR / "keystore.sqlite3", synchronous="FULL"),
        }
    default = dj_database_url.parse(url, conn_max_age=60)
    if default["ENGINE"].endswith("sqlite3"):
        default = _sqlite(Path(default["NAME"]))
    keys_url = os.environ.get("MNVAULT_KEYSTORE_URL")
    if keys_url:
        keys = dj_database_url.parse(keys_url, conn_max_age=60)
    else:
        # The key store is a database of its own, so a pg_dump of the data holds no keys.
        keys = {**default, "NAME": f"{default['NAME']}_keys"}
    if keys["ENGINE"].endswith("sqlite3"):
        keys = _sqlite(Path(keys["NAME"]), synchronous="FULL")
    # Test databases carry the process id, so two test runs on one server never collide.
    for alias in (default, keys):
        if alias["ENGINE"].endswith("postgresql"):
            alias["TEST"] = {"NAME": f"test_{alias['NAME']}_{os.getpid()}"}
    return {"default": default, "keys": keys}


DATABASES = _databases()
DATABASE_ROUTERS = ["mnvault.vault.routers.KeyStoreRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [Path(__file__).resolve().parent / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Served by WhiteNoise from the apps' static folders: no collectstatic step on the office PC.
WHITENOISE_USE_FINDERS = True
# Uploaded identity documents stay in memory until they are encrypted: never a clear temporary file.
FILE_UPLOAD_HANDLERS = ["mnvault.collection.upload_handler.MemoryOnlyUploadHandler"]
MNVAULT_MAX_DOCUMENT_MB = int(os.environ.get("MNVAULT_MAX_DOCUMENT_MB", "10"))

LOGIN_URL = "web:login"
OTP_TOTP_ISSUER = "mnvault"
MNVAULT_LOCKOUT_FAILURES = int(os.environ.get("MNVAULT_LOCKOUT_FAILURES", "5"))
MNVAULT_LOCKOUT_MINUTES = int(os.environ.get("MNVAULT_LOCKOUT_MINUTES", "15"))
# Failed sign-ins from one address, whatever the user names, within MNVAULT_LOCKOUT_MINUTES
# before the address is throttled (accounts.signin: password spraying).
MNVAULT_SIGNIN_ADDRESS_FAILURES = int(os.environ.get("MNVAULT_SIGNIN_ADDRESS_FAILURES", "20"))
# Idle timeout: short for users who can reveal numbers (issue 3: 15 minutes by default).
MNVAULT_IDLE_MINUTES_REVEAL = float(os.environ.get("MNVAULT_IDLE_MINUTES_REVEAL", "15"))
MNVAULT_IDLE_MINUTES = float(os.environ.get("MNVAULT_IDLE_MINUTES", "60"))
MNVAULT_REVEAL_SECONDS = 30  # how long a revealed number stays on screen
# Revealing or exporting a number, or granting or revoking a role, needs the password or a
# code given within this many minutes ("sudo mode"; web.reauth).
MNVAULT_REAUTH_MINUTES = float(os.environ.get("MNVAULT_REAUTH_MINUTES", "10"))
# Numbers shown (reveals, and each person of an export) in the last hour: per user or API
# client, and per company (vault.access; 0 for no limit).
MNVAULT_REVEALS_PER_HOUR = int(os.environ.get("MNVAULT_REVEALS_PER_HOUR", "60"))
MNVAULT_COMPANY_REVEALS_PER_HOUR = int(os.environ.get("MNVAULT_COMPANY_REVEALS_PER_HOUR", "600"))

SESSION_COOKIE_HTTPONLY = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Behind a TLS reverse proxy (MNVAULT_BEHIND_TLS_PROXY=1): trust its header, send secure
# cookies and HSTS. On the office LAN without TLS these stay off, or nothing would work.
BEHIND_TLS = os.environ.get("MNVAULT_BEHIND_TLS_PROXY") == "1"
if BEHIND_TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31_536_000
    CSRF_TRUSTED_ORIGINS = [
        o for o in os.environ.get("MNVAULT_CSRF_TRUSTED_ORIGINS", "").split(",") if o
    ]
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: under no-referrer, browsers send "Origin: null" with form
# posts (Fetch spec), which Django's CSRF check rightly refuses. Nothing goes to other sites.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Where signed audit checkpoints are also written, outside the database (docs/architecture.md,
# "Audit log").
MNVAULT_CHECKPOINT_FILE = Path(
    os.environ.get("MNVAULT_CHECKPOINT_FILE", DATA_DIR / "audit-checkpoints.jsonl")
)
# A second copy of each checkpoint, on storage the server cannot rewrite (a share, another
# disk, write-once media): off unless set (mnvault.audit.witness).
MNVAULT_CHECKPOINT_WITNESS_FILE = (
    Path(os.environ["MNVAULT_CHECKPOINT_WITNESS_FILE"])
    if os.environ.get("MNVAULT_CHECKPOINT_WITNESS_FILE")
    else None
)
# Encrypted backups (issue 13): where they go, and the age public key they are encrypted to
# (from the environment, else the file `mnvault backup init-key` writes in the data directory).
MNVAULT_BACKUP_DIR = Path(os.environ.get("MNVAULT_BACKUP_DIR", DATA_DIR.parent / "mnvault-backups"))
MNVAULT_BACKUP_RECIPIENT = os.environ.get("MNVAULT_BACKUP_RECIPIENT", "").strip()
MNVAULT_BACKUP_RECIPIENT_FILE = DATA_DIR / "backup-recipient.txt"
# The scheduler's daily backup (issue 13, item 2): the local time of day it is due, and how
# many daily, weekly and monthly data backups are kept. Key-store archives are kept only for
# MNVAULT_KEYSTORE_BACKUP_DAYS, the window the disposal certificate states.
MNVAULT_BACKUP_AT = os.environ.get("MNVAULT_BACKUP_AT", "02:00").strip()
MNVAULT_BACKUP_KEEP_DAILY = int(os.environ.get("MNVAULT_BACKUP_KEEP_DAILY", "7"))
MNVAULT_BACKUP_KEEP_WEEKLY = int(os.environ.get("MNVAULT_BACKUP_KEEP_WEEKLY", "4"))
MNVAULT_BACKUP_KEEP_MONTHLY = int(os.environ.get("MNVAULT_BACKUP_KEEP_MONTHLY", "12"))
# How long a key-store backup is kept: a retired KEK is destroyed, and a disposal certificate
# says the disposed keys exist nowhere, once this many days have passed.
MNVAULT_KEYSTORE_BACKUP_DAYS = int(os.environ.get("MNVAULT_KEYSTORE_BACKUP_DAYS", "7"))
MNVAULT_KEY_FILE = Path(os.environ.get("MNVAULT_KEY_FILE", DATA_DIR / "mnvault.key"))
# The audit signing key in a file of its own, away from the data directory and the key file
# (docs/threat-model.md); unset, it stays in the key file.
MNVAULT_SIGNING_KEY_FILE = (
    Path(os.environ["MNVAULT_SIGNING_KEY_FILE"])
    if os.environ.get("MNVAULT_SIGNING_KEY_FILE")
    else None
)

# E-mail (invitations, reminders, one-time codes) through the office's SMTP server.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("MNVAULT_SMTP_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("MNVAULT_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("MNVAULT_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("MNVAULT_SMTP_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("MNVAULT_SMTP_STARTTLS") == "1"
EMAIL_USE_SSL = os.environ.get("MNVAULT_SMTP_SSL") == "1"
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("MNVAULT_MAIL_FROM", "mnvault@localhost")
# The address people reach this installation at: links in e-mails and on printed sheets.
MNVAULT_PUBLIC_URL = os.environ.get("MNVAULT_PUBLIC_URL", "http://127.0.0.1:8000")


def _office_networks(value: str) -> tuple[str, ...]:
    """The ranges of ``MNVAULT_OFFICE_NETWORKS``; one that cannot be read stops the start
    rather than leave the staff pages open to everyone."""
    try:
        return tuple(
            str(ipaddress.ip_network(part.strip(), strict=False))
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as error:
        raise ImproperlyConfigured(f"MNVAULT_OFFICE_NETWORKS: {error}") from None


# When set, a request from outside these networks reaches only the registration pages, their
# static files and /healthz; every other page answers 404 (web.middleware.office_only, and
# docs/deploy.md, "Registration from phones"). Empty: every page from anywhere.
MNVAULT_OFFICE_NETWORKS = _office_networks(os.environ.get("MNVAULT_OFFICE_NETWORKS", ""))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tokens": {"()": "mnvault.web.logfilters.MaskInvitationTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["tokens"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("MNVAULT_LOG_LEVEL", "INFO")},
}
