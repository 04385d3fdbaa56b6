"""shared.memo.SmallMemo: computed once per key, and never more than its size however many keys clients send."""

from shared.memo import SmallMemo


def test_a_value_is_made_once_per_key_while_the_memo_holds_it():
    made = []
    memo = SmallMemo(4, lambda key: made.append(key) or key.upper())
    assert [memo("a"), memo("b"), memo("a"), memo("b")] == ["A", "B", "A", "B"]
    assert made == ["a", "b"]


def test_a_full_memo_starts_again_rather_than_grow():
    made = []
    memo = SmallMemo(3, lambda key: made.append(key) or key * 2)
    for key in range(10):  # a client choosing a new key each time (a Host header)
        assert memo(key) == key * 2
        assert len(memo) <= 3
    assert memo(9) == 18 and made.count(9) == 1  # the newest is still held …
    assert memo(0) == 0 and made.count(0) == 2   # … an old one is made again
