"""Key-encryption keys held by AWS KMS: what makes closing a key epoch Purge-grade.

With ``vault_kms = "aws"`` (``SHIFTY_VAULT_KMS=aws``) each key epoch of a tenant gets its own
KMS key (``CreateKey``). The epoch's 256-bit KEK is a KMS data key (``GenerateDataKey``): its
plaintext lives only in memory while a command uses it; what the installation stores
(``tenant.kms`` for the current epoch, ``keys/<id>.kms`` for older ones) is the KMS ciphertext
of the KEK, bound by the encryption context ``{"shifty-ent": "vault-kek", "tenant": <id>}``.

Closing an epoch schedules the deletion of its KMS key (``ScheduleKeyDeletion``): AWS refuses
every operation with a key pending deletion and deletes its material at the end of the waiting
period (7 to 30 days), so a wrapped data key found later in freed database pages, WAL or a
backup can no longer be unwrapped with anything the installation holds. A local key file
cannot give that: overwriting a file does not reach the medium's other copies.

Endpoint and region follow boto3 (``AWS_ENDPOINT_URL_KMS``, ``AWS_DEFAULT_REGION``, profiles).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from shifty_ent.core.config import Settings
from shifty_ent.core.errors import Refused

KIND = "aws_kms"
# the shortest waiting period AWS allows; the key is unusable from the moment it is scheduled
PENDING_WINDOW_DAYS = 7


def _client(settings: Settings) -> Any:
    try:
        import boto3
    except ImportError:
        raise Refused(
            'vault_kms = "aws" needs boto3: install shifty-ent with the kms extra '
            "(pip install 'shifty-ent[kms]')"
        ) from None

    return boto3.client("kms", endpoint_url=settings.kms_endpoint_url or None)


def _context(tenant_id: uuid.UUID) -> dict[str, str]:
    return {"shifty-ent": "vault-kek", "tenant": str(tenant_id)}


def _refused(what: str, exc: Exception) -> Refused:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
    return Refused(f"AWS KMS refused to {what}: {code}")


def new_epoch(settings: Settings, tenant_id: uuid.UUID) -> tuple[bytes, dict[str, Any]]:
    """A new KMS key for a new epoch and a KEK generated under it: (KEK, record to store)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client(settings)
    try:
        meta = client.create_key(
            Description=f"shifty-ent vault key epoch of tenant {tenant_id}",
            KeyUsage="ENCRYPT_DECRYPT",
        )["KeyMetadata"]
        made = client.generate_data_key(
            KeyId=meta["KeyId"], KeySpec="AES_256", EncryptionContext=_context(tenant_id)
        )
    except (BotoCoreError, ClientError) as exc:
        raise _refused("create a vault key epoch", exc) from None
    record = {
        "kind": KIND,
        "kms_key_id": meta["KeyId"],
        "kms_key_arn": meta.get("Arn"),
        "blob": base64.b64encode(made["CiphertextBlob"]).decode(),
    }
    return bytes(made["Plaintext"]), record


def open_record(settings: Settings, tenant_id: uuid.UUID, record: dict[str, Any]) -> bytes:
    """The KEK a record holds, decrypted by KMS (refused once its key is pending deletion)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        plain = _client(settings).decrypt(
            CiphertextBlob=base64.b64decode(record["blob"]),
            KeyId=record["kms_key_id"],
            EncryptionContext=_context(tenant_id),
        )["Plaintext"]
    except (BotoCoreError, ClientError) as exc:
        raise _refused(f"unwrap the vault key {record.get('kek_id')}", exc) from None
    return bytes(plain)


def key_state(settings: Settings, record: dict[str, Any]) -> dict[str, Any]:
    """What KMS says of an epoch's key: state and, when scheduled, its deletion date."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        meta = _client(settings).describe_key(KeyId=record["kms_key_id"])["KeyMetadata"]
    except (BotoCoreError, ClientError) as exc:
        return {"kms_key_state": f"unknown ({_refused('describe the key', exc).message})"}
    out: dict[str, Any] = {"kms_key_state": meta.get("KeyState")}
    if isinstance(meta.get("DeletionDate"), datetime):
        out["kms_deletion_date"] = meta["DeletionDate"].isoformat()
    return out


def destroy(settings: Settings, record: dict[str, Any]) -> dict[str, Any]:
    """Schedule the deletion of an epoch's KMS key; AWS refuses to use it from now on."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client(settings)
    try:
        done = client.schedule_key_deletion(
            KeyId=record["kms_key_id"], PendingWindowInDays=PENDING_WINDOW_DAYS
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "KMSInvalidStateException":
            raise _refused(f"delete the KMS key {record['kms_key_id']}", exc) from None
        done = {}  # already pending deletion (an earlier close stopped after this step)
    except BotoCoreError as exc:
        raise _refused(f"delete the KMS key {record['kms_key_id']}", exc) from None
    out = {
        "kind": KIND,
        "kms_key_id": record["kms_key_id"],
        "kms_key_arn": record.get("kms_key_arn"),
        **key_state(settings, record),
    }
    if isinstance(done.get("DeletionDate"), datetime):
        out["kms_deletion_date"] = done["DeletionDate"].isoformat()
    return out


def read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise Refused(f"the vault key record {path} cannot be read: {exc}") from None
    if not isinstance(record, dict) or record.get("kind") != KIND or "blob" not in record:
        raise Refused(f"the vault key record {path} is damaged")
    return record


def record_bytes(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True).encode() + b"\n"
