"""What a client needs from the environment, and the package's one error family (no stack)."""

from __future__ import annotations

import pytest

from crm_messaging import errors
from crm_messaging.cli import main
from crm_messaging.config import load_settings
from crm_messaging.errors import CrmMessagingError, InputError, SettingsError
from devstack.process import StackError

NAMES = [
    "API_URL", "SUPABASE_URL", "ANON_KEY", "SUPABASE_ANON_KEY", "SERVICE_ROLE_KEY",
    "SUPABASE_SERVICE_ROLE_KEY", "JWT_SECRET", "SUPABASE_JWT_SECRET", "DB_URL", "SUPABASE_DB_URL",
]  # fmt: skip


@pytest.fixture
def env_file(monkeypatch, tmp_path):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "project.env"
    monkeypatch.setenv("CRM_ENV_FILE", str(path))
    return path


def test_a_url_and_one_key_are_enough(env_file):
    env_file.write_text('SUPABASE_URL="https://abc.supabase.co"\nSUPABASE_ANON_KEY=anon.key.sig\n')
    s = load_settings()
    assert (s.api_url, s.anon_key) == ("https://abc.supabase.co", "anon.key.sig")
    assert s.service_role_key is None and s.jwt_secret is None and s.db_url is None


def test_missing_settings_are_named_in_one_sentence(env_file):
    env_file.write_text("JWT_SECRET=x\n")
    with pytest.raises(SettingsError) as err:
        load_settings()
    text = str(err.value)
    assert text.startswith("no Supabase project configured: API_URL or SUPABASE_URL, ANON_KEY")
    assert "SERVICE_ROLE_KEY" in text and "JWT_SECRET" not in text.split(" not set")[0]


def test_what_a_tool_requires_beyond_the_key_is_named(env_file):
    env_file.write_text("API_URL=http://127.0.0.1:1\nSERVICE_ROLE_KEY=k.k.k\n")
    with pytest.raises(SettingsError, match="DB_URL or SUPABASE_DB_URL not set"):
        load_settings(require=("db_url",))
    env_file.write_text("API_URL=http://127.0.0.1:1\nSERVICE_ROLE_KEY=k.k.k\nDB_URL=postgres://x\n")
    assert load_settings(require=("db_url",)).db_url == "postgres://x"


def test_every_error_of_the_package_and_of_devstack_has_one_base():
    family = [
        cls for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == errors.__name__
    ]  # fmt: skip
    assert {c.__name__ for c in family} == {
        "CrmMessagingError", "InputError", "ExportFormatError", "IdentifierError",
        "SettingsError", "MessagingError",
    }  # fmt: skip
    assert all(issubclass(c, CrmMessagingError) for c in family)
    assert issubclass(errors.ExportFormatError, InputError) and issubclass(InputError, ValueError)
    assert issubclass(StackError, CrmMessagingError)


def test_the_cli_exits_2_for_bad_input_and_1_for_missing_settings(env_file, capsys):
    code = main(["connections", "add", "whatsapp", "--account", "+34600000000"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("crm-messaging: connections add whatsapp: --app-secret")
    assert main(["conversations"]) == 1
    assert capsys.readouterr().err.startswith("crm-messaging: no Supabase project configured")


def test_every_platform_the_cli_offers_has_its_webhook_secrets():
    from crm_messaging.commands import CONNECTION_SECRETS, PLATFORM_CHOICES

    assert set(CONNECTION_SECRETS) == set(PLATFORM_CHOICES) == {
        "whatsapp", "telegram", "signal", "wechat"
    }  # fmt: skip
