"""Two-step sign-in: an authenticator app (TOTP, RFC 6238) and one-time recovery codes, kept by django-otp.

Devices live in the tenant's schema beside the users (`otp_totp`, `otp_static` are tenant apps). A user has at
most one TOTP device: unconfirmed from `two_step_setup_start` until a code from the app confirms it
(`two_step_confirm`, which also makes the recovery codes), and only a confirmed device asks for a code at login.

Verification (`two_step_verify`) accepts a code of the current 30 s step or of the one before or after it
(TWO_STEP_TOLERANCE_STEPS, default 1: a phone's clock a little off, or a code typed as it changed), and each
step's code works once: the device remembers the last step it accepted (`last_t`) under a row lock, so the same
code sent twice at once is accepted once. A recovery code is deleted by the very statement that accepts it.
django-otp's own back-off is switched off (OTP_*_THROTTLE_FACTOR = 0): the callers count wrong codes against the
login counters of accounts/protection.py, as wrong passwords are counted.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import connection, transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import ActorLike, audit_append
from core.errors import Conflict, ValidationFailed

DEVICE_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
METHOD_TOTP = "totp"
METHOD_RECOVERY = "recovery_code"
WRONG_CODE = "That code is not right, or it was already used."
_TOTP_CODE = re.compile(r"^\d{6}$")
_RECOVERY_CODE = re.compile(r"^[a-z2-7]{8}$")


@dataclass(frozen=True)
class TwoStepSetup:
    """What the user types into (or opens with) the authenticator app; shown only until the device is confirmed."""

    secret: str
    uri: str


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", str(code)).lower()


def _secret_of(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode("ascii")


def two_step_setup_of(device: TOTPDevice) -> TwoStepSetup:
    """The secret and the otpauth URI of an unconfirmed device (refused for a confirmed one: it is never shown)."""
    if device.confirmed:
        raise Conflict("Two-step sign-in is already on; its secret is not shown again.")
    issuer = str(getattr(getattr(connection, "tenant", None), "name", "") or "HRMS").replace(":", "")
    label = quote(f"{issuer}:{device.user.get_username()}")
    params = urlencode(
        {"secret": _secret_of(device), "issuer": issuer, "algorithm": "SHA1", "digits": 6, "period": device.step}
    )
    return TwoStepSetup(secret=_secret_of(device), uri=f"otpauth://totp/{label}?{params}")


@transaction.atomic
def two_step_setup_start(*, user: Any) -> TwoStepSetup:
    """A new secret for the user's authenticator app; any earlier unconfirmed one stops counting."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise Conflict("Two-step sign-in is already on. Turn it off first to move it to another phone.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(
        user=user, name=DEVICE_NAME, confirmed=False, tolerance=int(settings.TWO_STEP_TOLERANCE_STEPS)
    )
    audit_append(actor=user, action="two_step.setup_start", object_type="user", object_id=user.pk, data={})
    return two_step_setup_of(device)


def _totp_accepts(device: TOTPDevice, code: str, now: float) -> bool:
    """The code matches a step within the tolerance that is later than the last accepted one; remembers it."""
    if not _TOTP_CODE.match(code):
        return False
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, 0)
    totp.time = now
    if not totp.verify(int(code), int(settings.TWO_STEP_TOLERANCE_STEPS), device.last_t + 1):
        return False
    device.last_t = totp.t()
    device.set_last_used_timestamp(commit=False)
    device.save(update_fields=["last_t", "last_used_at"])
    return True


def _recovery_accepts(user: Any, code: str) -> bool:
    if not _RECOVERY_CODE.match(code):
        return False
    # One statement finds and removes the code: of two requests with the same code, one deletes the row.
    deleted, _ = StaticToken.objects.filter(
        device__in=StaticDevice.objects.filter(user=user, confirmed=True), token=code
    ).delete()
    return bool(deleted)


def _new_recovery_codes(user: Any) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(int(settings.TWO_STEP_RECOVERY_CODES))]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def two_step_confirm(*, user: Any, code: str, now: float | None = None) -> list[str]:
    """Turn two-step sign-in on with a first code from the app; the new recovery codes (shown this once)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise Conflict("Start the set-up first: there is no secret waiting for a code.")
    if not _totp_accepts(device, _normalised(code), time.time() if now is None else now):
        raise ValidationFailed("The code does not match.", fields={"code": [WRONG_CODE]})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    audit_append(
        actor=user, action="two_step.enable", object_type="user", object_id=user.pk, data={"recovery_codes": len(codes)}
    )
    return codes


def _verify(user: Any, code: str, now: float) -> str | None:
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    if device is None:
        return None
    normalised = _normalised(code)
    if _totp_accepts(device, normalised, now):
        return METHOD_TOTP
    if _recovery_accepts(user, normalised):
        return METHOD_RECOVERY
    return None


@transaction.atomic
def two_step_verify(*, user: Any, code: str, now: float | None = None) -> str | None:
    """At sign-in: `totp` or `recovery_code` when the code is accepted (a recovery code is used up), else None.
    A wrong code is audited here; the caller counts it against the login limits."""
    method = _verify(user, code, time.time() if now is None else now)
    if method is None:
        audit_append(actor=user, action="auth.second_factor_failed", object_type="user", object_id=user.pk, data={})
    return method


@transaction.atomic
def two_step_disable(*, user: Any, code: str = "", password: str = "", now: float | None = None) -> None:
    """Turn two-step sign-in off, proven with a code (app or recovery) or the password."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise Conflict("Two-step sign-in is not on.")
    if code:
        if _verify(user, code, time.time() if now is None else now) is None:
            raise ValidationFailed("The code does not match.", fields={"code": [WRONG_CODE]})
        proof = "code"
    elif password:
        if not user.check_password(password):
            raise ValidationFailed("The password is not right.", fields={"password": ["The password is not right."]})
        proof = "password"
    else:
        raise ValidationFailed("A code or the password is needed.", fields={"code": ["Enter a code or the password."]})
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_append(actor=user, action="two_step.disable", object_type="user", object_id=user.pk, data={"proof": proof})


@transaction.atomic
def two_step_recovery_codes_renew(*, user: Any, code: str, now: float | None = None) -> list[str]:
    """New recovery codes (the old ones stop working), proven with a code from the app or a recovery code."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise Conflict("Two-step sign-in is not on.")
    if _verify(user, code, time.time() if now is None else now) is None:
        raise ValidationFailed("The code does not match.", fields={"code": [WRONG_CODE]})
    codes = _new_recovery_codes(user)
    audit_append(
        actor=user,
        action="two_step.recovery_codes_renew",
        object_type="user",
        object_id=user.pk,
        data={"recovery_codes": len(codes)},
    )
    return codes


@transaction.atomic
def two_step_devices_remove(*, actor: ActorLike, user: Any) -> int:
    """An operator's way back in for a user who lost the phone and the recovery codes: every device removed;
    the number of devices removed (an authenticator app and the set of recovery codes count one each)."""
    removed = int(TOTPDevice.objects.filter(user=user).count() + StaticDevice.objects.filter(user=user).count())
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_append(
        actor=actor,
        action="two_step.reset",
        object_type="user",
        object_id=user.pk,
        data={"username": user.username, "devices": removed},
    )
    return removed
