"""Every user-facing string is in the catalogs, and zh-Hans is complete."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _i18n_script():
    spec = importlib.util.spec_from_file_location("civic_i18n", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalogs_are_complete_for_every_package():
    problems = _i18n_script().problems()
    assert not problems, "run scripts/i18n.py extract and translate:\n" + "\n".join(problems[:40])


def test_plural_forms_work_in_both_languages():
    from app import i18n

    with i18n.use_locale("en"):
        assert i18n.ngettext("%(num)d day", "%(num)d days", 1) == "1 day"
        assert i18n.ngettext("%(num)d day", "%(num)d days", 3) == "3 days"
    with i18n.use_locale("zh-Hans"):
        assert i18n.ngettext("%(num)d day", "%(num)d days", 3) == "3 天"
