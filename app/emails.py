"""E-mail address validation and canonicalisation (one person, one address, whatever the spelling)."""
from __future__ import annotations

import re

_EMAIL = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")

# Providers that deliver "a.b+tag@" to "ab@": dots ignored and plus-tags ignored.
_DOTS_AND_PLUS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
# Providers that ignore "+tag" suffixes but treat dots as significant.
_PLUS_ONLY = {
    "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "fastmail.com", "fastmail.fm", "protonmail.com", "proton.me", "pm.me", "yandex.com", "yandex.ru",
    "qq.com", "163.com", "126.com", "foxmail.com",
}
# Yahoo uses "-" for disposable addresses.
_DASH = {"yahoo.com", "yahoo.co.uk", "ymail.com"}


def is_valid_email(value: str) -> bool:
    return bool(value) and len(value) <= 254 and bool(_EMAIL.match(value.strip()))


def canonical_email(value: str) -> str:
    """Lower-case the address and remove the variations a provider ignores."""
    value = value.strip().lower()
    if "@" not in value:
        return value
    local, _, domain = value.rpartition("@")
    domain = domain.rstrip(".")
    if domain in _DOTS_AND_PLUS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = _DOTS_AND_PLUS[domain]
    elif domain in _PLUS_ONLY:
        local = local.split("+", 1)[0]
    elif domain in _DASH:
        local = local.split("-", 1)[0]
    return f"{local}@{domain}"
