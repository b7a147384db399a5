from ledger.core.accounts import AccountKey
from ledger.loading import AccountIds


def test_remembered_ids_are_returned_and_unknown_keys_are_not() -> None:
    ids = AccountIds()
    ids.remember({AccountKey.user("prog", "alice"): 7})
    assert ids.get(AccountKey.user("prog", "alice")) == 7
    assert ids.get(AccountKey.user("prog", "bob")) is None


def test_the_memory_is_bounded() -> None:
    ids = AccountIds(size_max=3)
    ids.remember({AccountKey.user("prog", f"u{n}"): n for n in range(3)})
    assert len(ids) == 3
    ids.remember({AccountKey.user("prog", "u3"): 3})
    assert len(ids) == 1
    assert ids.get(AccountKey.user("prog", "u3")) == 3


def test_ids_remembered_again_do_not_count_towards_the_bound() -> None:
    ids = AccountIds(size_max=3)
    known = {AccountKey.user("prog", f"u{n}"): n for n in range(3)}
    ids.remember(known)
    ids.remember(known)  # a batch touching the same accounts again
    assert len(ids) == 3
    assert ids.get(AccountKey.user("prog", "u0")) == 0
