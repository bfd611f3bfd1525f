"""Effective settings: flags > environment > TOML config file > defaults.

``SHIFTY_HOME`` replaces the platformdirs config and data directories with one directory, so a test,
a CI step or a sandbox keeps every local file (config, database, signing key, vault, archive,
workspaces) under one root.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shifty_ent.core import secrecy
from shifty_ent.core.errors import InvalidInput

APP_NAME = "shifty-ent"
OUTPUT_FORMATS = ("table", "json", "jsonl", "csv")
SECRET_KEYS = frozenset({"vastai_api_key", "hf_token", "aws_secret_access_key"})

# setting name -> environment variables, first match wins
ENV_VARS: dict[str, tuple[str, ...]] = {
    "database_url": ("SHIFTY_DATABASE_URL", "DATABASE_URL"),
    "tenant": ("SHIFTY_TENANT",),
    "user": ("SHIFTY_USER",),
    "identity": ("SHIFTY_IDENTITY",),
    "output": ("SHIFTY_OUTPUT",),
    "signing_key_path": ("SHIFTY_SIGNING_KEY",),
    "host_id": ("SHIFTY_HOST_ID",),
    "notify_webhook": ("SHIFTY_NOTIFY_WEBHOOK",),
    "audit_witness": ("SHIFTY_AUDIT_WITNESS",),
    "vastai_api_key": ("VASTAI_API_KEY",),
    "vastai_url": ("VASTAI_URL",),
    "hf_token": ("HF_TOKEN", "HUGGINGFACE_API_TOKEN"),
    "hf_endpoint": ("HF_ENDPOINT",),
    "ollama_host": ("OLLAMA_HOST", "OLLAMA_ENDPOINT"),
    "s3_endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "vault_kms": ("SHIFTY_VAULT_KMS",),
    "kms_endpoint_url": ("AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL"),
}
VAULT_KMS_CHOICES = ("aws",)

DEFAULTS: dict[str, Any] = {
    "vastai_url": "https://console.vast.ai",
    "hf_endpoint": "https://huggingface.co",
    "ollama_host": "http://127.0.0.1:11434",
}


def _platform_dirs() -> tuple[Path, Path]:
    home = os.environ.get("SHIFTY_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return root, root
    import platformdirs

    return (
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
    )


@dataclass
class Settings:
    """Every setting a command may need, plus where each value came from (for ``config show``)."""

    config_dir: Path
    data_dir: Path
    config_file: Path
    database_url: str
    tenant: str | None
    user: str | None
    output: str | None
    signing_key_path: Path
    notify_webhook: str | None
    vastai_api_key: str | None
    vastai_url: str
    hf_token: str | None
    hf_endpoint: str
    ollama_host: str
    s3_endpoint_url: str | None
    aws_secret_access_key: str | None
    identity: str | None = None
    host_id: str | None = None
    audit_witness: str | None = None
    vault_kms: str | None = None
    kms_endpoint_url: str | None = None
    debug: bool = False
    quiet: bool = False
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def vault_dir(self) -> Path:
        return self.data_dir / "vault"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def workspace_dir(self) -> Path:
        return self.data_dir / "workspaces"

    @property
    def is_embedded_default(self) -> bool:
        return self.sources.get("database_url") == "default"

    def masked(self) -> dict[str, Any]:
        """Settings as printable values; secrets and database passwords are masked."""
        out: dict[str, Any] = {}
        for name in (
            "config_file",
            "config_dir",
            "data_dir",
            "database_url",
            "tenant",
            "user",
            "identity",
            "output",
            "signing_key_path",
            "host_id",
            "notify_webhook",
            "audit_witness",
            "vastai_url",
            "vastai_api_key",
            "hf_endpoint",
            "hf_token",
            "ollama_host",
            "s3_endpoint_url",
            "vault_kms",
            "kms_endpoint_url",
            "aws_secret_access_key",
        ):
            value = getattr(self, name)
            if name in SECRET_KEYS:
                value = mask_secret(value)
            elif name in ("database_url", "notify_webhook", "audit_witness") and value:
                value = mask_url_password(str(value))
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, list):
                value = [str(v) for v in value]
            out[name] = {"value": value, "source": self.sources.get(name, "default")}
        return out


def mask_secret(value: str | None) -> str | None:
    """Show only that a secret is set: no character of it, not even its length."""
    if not value:
        return None
    return "(set)"


def mask_url_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:****@h/db``."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":****"
    return f"{scheme}://{creds}@{host}"


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"config file {path} is not valid TOML: {exc}") from None
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):  # [vastai] url = ... -> vastai_url
            for sub, subval in value.items():
                flat[f"{key}_{sub}"] = subval
        else:
            flat[key] = value
    return flat


def load_settings(flags: dict[str, Any] | None = None) -> Settings:
    """Build the effective settings. ``flags`` holds values given on the command line."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    secrecy.forget_all()  # the secrets of these settings are the ones to scrub
    config_dir, data_dir = _platform_dirs()
    config_file = config_dir / "config.toml"
    file_values = _read_config_file(config_file)
    sources: dict[str, str] = {}

    def pick(name: str) -> Any:
        if name in flags:
            sources[name] = "flag"
            return flags[name]
        for var in ENV_VARS.get(name, ()):
            val = os.environ.get(var)
            if val:
                sources[name] = f"env:{var}"
                return val
        if name in file_values:
            sources[name] = "file"
            return file_values[name]
        sources[name] = "default"
        return DEFAULTS.get(name)

    database_url = pick("database_url")
    if not database_url:
        database_url = f"sqlite:///{data_dir / 'state.db'}"
    output = pick("output")
    if output is not None and output not in OUTPUT_FORMATS:
        raise InvalidInput(
            f"unknown output format {output!r}; choose one of {', '.join(OUTPUT_FORMATS)}"
        )
    user = pick("user")
    if not user:
        user = None  # the store decides who acts (see core.identity)
        sources["user"] = "identity"
    key_path = pick("signing_key_path")
    vault_kms = pick("vault_kms") or None
    if vault_kms is not None and vault_kms not in VAULT_KMS_CHOICES:
        raise InvalidInput(
            f"unknown vault_kms {vault_kms!r}; choose {', '.join(VAULT_KMS_CHOICES)} "
            "(AWS KMS holds the vault's key-encryption keys) or leave it unset (a local key file)"
        )
    _warn_retired(file_values)
    secret = {name: _secret(name, pick(name), sources[name]) for name in sorted(SECRET_KEYS)}
    secrecy.remember(_url_password(str(database_url)))
    return Settings(
        config_dir=config_dir,
        data_dir=data_dir,
        config_file=config_file,
        database_url=str(database_url),
        tenant=pick("tenant"),
        user=str(user) if user is not None else None,
        identity=pick("identity"),
        output=output,
        signing_key_path=Path(key_path).expanduser() if key_path else data_dir / "signing_key.pem",
        host_id=pick("host_id"),
        notify_webhook=pick("notify_webhook"),
        audit_witness=pick("audit_witness"),
        vastai_api_key=secret["vastai_api_key"],
        vastai_url=str(pick("vastai_url")).rstrip("/"),
        hf_token=secret["hf_token"],
        hf_endpoint=str(pick("hf_endpoint")).rstrip("/"),
        ollama_host=str(pick("ollama_host")),
        s3_endpoint_url=pick("s3_endpoint_url"),
        vault_kms=vault_kms,
        kms_endpoint_url=pick("kms_endpoint_url"),
        aws_secret_access_key=secret["aws_secret_access_key"],
        debug=bool(flags.get("debug", False)),
        quiet=bool(flags.get("quiet", False)),
        sources=sources,
    )


def _secret(name: str, value: Any, source: str) -> str | None:
    if source.startswith("env:"):
        label = f"environment variable {source.removeprefix('env:')}"
    else:
        label = f"{name} (from {'the config file' if source == 'file' else source})"
    return secrecy.check_secret(label, value)


def _url_password(url: str) -> str | None:
    """The password of a database URL, raw and decoded, for scrubbing."""
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    if password:
        secrecy.remember(unquote(password))
    return password


def _warn_retired(file_values: dict[str, Any]) -> None:
    """``SHIFTY_DATA_ROOTS`` let every tenant erase below the listed directories; data roots now
    belong to one tenant each (``tenant root add``). Ignored, with one line on stderr, rather
    than refused, so a leftover cron environment keeps running with less reach, never more."""
    if os.environ.get("SHIFTY_DATA_ROOTS") or "data_roots" in file_values:
        import sys

        sys.stderr.write(
            "warning: SHIFTY_DATA_ROOTS / data_roots is ignored: data roots belong to one tenant "
            "each now (shifty-ent tenant root add PATH -t TENANT)\n"
        )


DEFAULT_CONFIG = (
    "# shifty-ent configuration. Flags and environment variables override these values.\n"
    '# database_url = "postgresql+psycopg://postgres@127.0.0.1:5432/shifty"\n'
    '# tenant = "acme"\n'
    '# output = "table"\n'
    '# vastai_url = "https://console.vast.ai"\n'
    '# hf_endpoint = "https://huggingface.co"\n'
    '# ollama_host = "http://127.0.0.1:11434"\n'
)


def write_default_config(settings: Settings) -> bool:
    """Create a commented config file (0600, never over anything) if none exists; returns
    whether one was written."""
    from shifty_ent.core import outfiles

    if os.path.lexists(settings.config_file):
        return False
    outfiles.private_dir(settings.config_dir)
    outfiles.write_file(settings.config_file, DEFAULT_CONFIG.encode(), flag="config file")
    return True
