"""Studio settings: everything comes from the environment; the defaults are the embedded mode."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.utils.csp import CSP

from studio.ops.logs import logging_config

django_stubs_ext.monkeypatch()  # lets admin and other generic classes take type arguments at runtime

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STUDIO_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret_key() -> str:
    """Embedded mode only: a random key kept in var/ so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "django_tasks_db",
    "studio.accounts",
    "studio.catalogue",
    "studio.chat",
    "studio.billing",
    "studio.generation",
    "studio.realtime",
    "studio.ops",
    "studio.sharing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "studio.ops.middleware.RequestIdMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.accounts.middleware.htmx_login_redirect",
]

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.chat.context_processors.studio",
            ],
        },
    },
]

_SQLITE_PATH = VAR_DIR / "studio.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_SQLITE_PATH),
            "OPTIONS": {
                # BEGIN IMMEDIATE: a write transaction takes the lock up front, so the runner's claim
                # cannot deadlock against a reader that wants to upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
# The cache holds throttle counts, shared by every process: Redis when scaled, else a database table.
# STUDIO_CACHE_PREFIX keeps studios that share one Redis apart.
_cache_prefix = os.environ.get("STUDIO_CACHE_PREFIX", "studio")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": _cache_prefix,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "studio_cache",
            "KEY_PREFIX": _cache_prefix,
        }
    }
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Email (Django's MAILERS): SMTP when EMAIL_HOST is set; otherwise each message goes to the console
# and to a file in var/mail/, so a newcomer can follow invitation and reset links.
_smtp_host = os.environ.get("EMAIL_HOST", "")
if _smtp_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _smtp_host,
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "studio.accounts.mail.ConsoleAndFileBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Studio <studio@localhost>")
PASSWORD_RESET_TIMEOUT = 3600 * 24

# Throttles (django-ratelimit): "N/period", per account and per client address.
STUDIO_THROTTLE_LOGIN_ACCOUNT = os.environ.get("STUDIO_THROTTLE_LOGIN_ACCOUNT", "5/15m")
STUDIO_THROTTLE_LOGIN_IP = os.environ.get("STUDIO_THROTTLE_LOGIN_IP", "30/15m")
STUDIO_THROTTLE_SIGNUP_IP = os.environ.get("STUDIO_THROTTLE_SIGNUP_IP", "10/h")
STUDIO_THROTTLE_SIGNUP_EMAIL = os.environ.get("STUDIO_THROTTLE_SIGNUP_EMAIL", "3/h")
STUDIO_THROTTLE_RESET_IP = os.environ.get("STUDIO_THROTTLE_RESET_IP", "10/h")
STUDIO_THROTTLE_RESET_EMAIL = os.environ.get("STUDIO_THROTTLE_RESET_EMAIL", "3/h")
STUDIO_THROTTLE_SHARE_IP = os.environ.get("STUDIO_THROTTLE_SHARE_IP", "20/15m")
STUDIO_THROTTLE_SHARE_LINK = os.environ.get("STUDIO_THROTTLE_SHARE_LINK", "10/15m")
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "studio.accounts.throttle.client_address"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist")]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing folder before collectstatic
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

STORAGE_BACKEND = os.environ.get("STUDIO_STORAGE", "local")  # local | s3
# S3, MinIO or R2: a private bucket (no ACLs, every URL signed), never overwriting a key, objects
# cached for good by whoever may fetch them (keys never change). Originals and downloads are
# answered by the access-checked URLs with a short-lived signed redirect, signed for the endpoint
# browsers reach (AWS_S3_PUBLIC_ENDPOINT_URL, when it differs from the one the servers use).
S3_OPTIONS: dict[str, object] = {
    "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", "studio"),
    "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
    "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
    "default_acl": None,
    "querystring_auth": True,
    "querystring_expire": 300,
    "signature_version": "s3v4",
    "file_overwrite": False,
    "object_parameters": {"CacheControl": "private, max-age=31536000, immutable"},
}
S3_PUBLIC_ENDPOINT_URL = os.environ.get("AWS_S3_PUBLIC_ENDPOINT_URL") or os.environ.get("AWS_S3_ENDPOINT_URL") or ""
STUDIO_SIGNED_URL_SECONDS = int(os.environ.get("STUDIO_SIGNED_URL_SECONDS", "300"))
if STORAGE_BACKEND == "s3":
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": S3_OPTIONS}
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Strict CSP: scripts only from us with a nonce, no inline styles, websockets to ourselves.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    # Originals redirect to signed bucket URLs when storage is S3.
    "img-src": [
        CSP.SELF,
        "data:",
        "blob:",
        *([S3_PUBLIC_ENDPOINT_URL or "https://*.amazonaws.com"] if STORAGE_BACKEND == "s3" else []),
    ],
    "connect-src": [CSP.SELF],
    "frame-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), never from JS cookie reads
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("BEHIND_TLS_PROXY")

# Gemini. No key: the built-in emulator (embedded mode starts it; GEMINI_BASE_URL points elsewhere).
GEMINI_API_KEY = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY") or ""
GEMINI_BASE_URL = os.environ.get("GEMINI_BASE_URL", "")
GEMINI_MODEL = os.environ.get("GEMINI_MODEL", "gemini-3-pro-image")  # unless an admin picks a default
GEMINI_VERTEX_PROJECT = os.environ.get("GEMINI_VERTEX_PROJECT", "")
GEMINI_VERTEX_LOCATION = os.environ.get("GEMINI_VERTEX_LOCATION", "global")
GEMINI_VERTEX_EXPRESS = env_bool("GEMINI_VERTEX_EXPRESS")  # Vertex AI with GEMINI_API_KEY and no project
GEMINI_VERTEX_ACCESS_TOKEN = os.environ.get("GEMINI_VERTEX_ACCESS_TOKEN", "")  # instead of default credentials
GEMINI_TIMEOUT_S = float(os.environ.get("GEMINI_TIMEOUT_S", "300"))

# The generation runner: inside the web process (embedded) or in `manage.py studio_worker` (external).
STUDIO_RUNNER = os.environ.get("STUDIO_RUNNER", "embedded")
# Periodic chores (the storage sweep) run on Django's tasks framework. Embedded: at once, in the
# runner's thread (no extra service). Scaled: queued in the database (django-tasks-db) for the
# chores process (`manage.py db_worker`).
STUDIO_TASKS = os.environ.get("STUDIO_TASKS", "immediate" if STUDIO_RUNNER == "embedded" else "database")
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend"
        if STUDIO_TASKS == "database"
        else "django.tasks.backends.immediate.ImmediateBackend"
    }
}
STUDIO_SWEEP_EVERY_S = float(os.environ.get("STUDIO_SWEEP_EVERY_S", "600"))
# Files younger than this are never swept: a response being written has stored files before its rows.
STUDIO_SWEEP_GRACE_S = float(os.environ.get("STUDIO_SWEEP_GRACE_S", "3600"))
STUDIO_RUNNER_CONCURRENCY = int(os.environ.get("STUDIO_RUNNER_CONCURRENCY", "16"))
# The cores a `studio_worker` keeps all of its threads on ("0", "0,2", "2-3"); empty: any (ops/cpus.py).
STUDIO_WORKER_CPUS = os.environ.get("STUDIO_WORKER_CPUS", "").strip()
# Fair scheduling (generation/fairness.py): concurrent Gemini calls across all workers (the Gemini
# project's rate limits), and per team; 0 means no cap.
STUDIO_GEMINI_CONCURRENCY = int(os.environ.get("STUDIO_GEMINI_CONCURRENCY", "0"))
STUDIO_TEAM_CONCURRENCY = int(os.environ.get("STUDIO_TEAM_CONCURRENCY", "0"))
STUDIO_LEASE_SECONDS = float(os.environ.get("STUDIO_LEASE_SECONDS", "30"))
STUDIO_RETRY_BASE_S = float(os.environ.get("STUDIO_RETRY_BASE_S", "1.0"))
# Retries: the server's hint (RetryInfo, Retry-After) when it gives one, else exponential backoff with
# full jitter; no single wait is longer than STUDIO_RETRY_MAX_S, nor all of a response's waits
# together longer than STUDIO_RETRY_TOTAL_S (a longer hint fails the response with a clear message).
STUDIO_RETRY_MAX_S = float(os.environ.get("STUDIO_RETRY_MAX_S", "60"))
STUDIO_RETRY_TOTAL_S = float(os.environ.get("STUDIO_RETRY_TOTAL_S", "300"))
STUDIO_THOUGHT_FLUSH_S = float(os.environ.get("STUDIO_THOUGHT_FLUSH_S", "0.15"))
# Request size: Gemini's inline limit (100 MB since January 2026; 20 MB before). Requests are kept
# under 90% of it: the newest model turns are replayed in full, older images and large references
# go through the Files API.
GEMINI_REQUEST_LIMIT_MB = float(os.environ.get("GEMINI_REQUEST_LIMIT_MB", "100"))
STUDIO_REPLAY_INLINE_TURNS = int(os.environ.get("STUDIO_REPLAY_INLINE_TURNS", "3"))
STUDIO_INLINE_IMAGE_MAX_KB = int(os.environ.get("STUDIO_INLINE_IMAGE_MAX_KB", "1024"))

# Console logs with the request id, user id and path on every line; STUDIO_LOG_FORMAT=json for shippers.
STUDIO_LOG_FORMAT = os.environ.get("STUDIO_LOG_FORMAT", "text")
LOGGING = logging_config(fmt=STUDIO_LOG_FORMAT, level=os.environ.get("STUDIO_LOG_LEVEL", "INFO"))
