"""Errors (contract 5): standard exception types, messages naming the operation and the offending
value, user exceptions reaching the caller with a note, and a context that stays usable."""
from __future__ import annotations

import re

import numpy as np
import pytest

import rdarray as rd
from _helpers import Counter, assert_close, partitioned

A = np.arange(1.0, 11.0)


# -- lengths, arguments ------------------------------------------------------------------------------

def test_mismatched_lengths_name_both():
    x = partitioned(A, [4, 6])
    for other in (rd.arange(7, npartitions=2), partitioned(np.arange(7.0), [7]), np.arange(7.0)):
        with pytest.raises(ValueError) as info:
            x + other
        assert re.search(r"\b10\b", str(info.value)) and re.search(r"\b7\b", str(info.value)), info.value
    with pytest.raises(ValueError, match=r"10.*7|7.*10"):
        rd.where(x > 2, x, rd.arange(7.0))


@pytest.mark.parametrize("npartitions", [0, -1, 1.5, True, "2"])
def test_bad_npartitions(npartitions):
    a = np.arange(10)
    makers = [lambda: rd.from_numpy(a, npartitions=npartitions),
              lambda: rd.arange(10, npartitions=npartitions),
              lambda: rd.zeros(10, npartitions=npartitions),
              lambda: rd.ones((10, 2), npartitions=npartitions),
              lambda: rd.full(10, 3.0, npartitions=npartitions),
              lambda: rd.linspace(0, 1, 10, npartitions=npartitions)]
    for make in makers:
        with pytest.raises(ValueError, match="npartitions") as info:
            make()
        assert repr(npartitions) in str(info.value)


def test_bad_axis_names_it():
    x = partitioned(A.reshape(5, 2), [2, 3])
    with pytest.raises(ValueError, match="axis 5"):
        x.sum(axis=5)
    with pytest.raises(ValueError, match="axis"):
        x.mean(axis=-3)


# -- dtypes, fields --------------------------------------------------------------------------------

def test_object_dtype_says_why():
    obj = np.array([1, "a", None], dtype=object)
    attempts = [lambda: rd.from_numpy(obj), lambda: rd.from_partitions([obj]),
                lambda: partitioned(A, [10]).astype(object),
                lambda: partitioned(A, [10]).map_partitions(lambda b: b.astype(object)),
                lambda: partitioned(A, [10]).map_partitions(lambda b: b, dtype=object),
                lambda: rd.from_numpy(np.zeros(2, dtype=[("a", "f8"), ("o", object)]))]
    for attempt in attempts:
        with pytest.raises(TypeError, match="object") as info:
            attempt()
        assert "not supported" in str(info.value) and len(str(info.value)) > 60  # says why


def test_unknown_fields_raise_key_error():
    s = np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "i4"), ("b", "f8")])
    x = partitioned(s, [1, 1])
    with pytest.raises(KeyError, match="zz"):
        x["zz"]
    with pytest.raises(KeyError, match="zz"):
        x[["a", "zz"]]
    assert_close(x["b"].compute(), s["b"])


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "prod"])
def test_non_numeric_reductions_raise_type_error_when_called(op):
    for a in (np.array(["2020-01-01", "2021-01-01"], dtype="M8[D]"), np.array(["a", "b"]),
              np.array([("x", b"y")], dtype=[("a", "U1"), ("b", "S1")])):  # a table reduces its numeric fields
        x = partitioned(a, [len(a)])
        with pytest.raises(TypeError, match=op):
            getattr(x, op)()


# -- user functions that raise --------------------------------------------------------------------

class Boom(Exception):
    pass


def fail_on(value, exc=ZeroDivisionError):
    """A partition function raising ``exc`` on the partition that starts with ``value``."""
    def fn(b):
        if len(b) and b[0] == value:
            if exc is ZeroDivisionError:
                return b // 0 if b.dtype.kind == "i" else 1 // 0
            raise exc(f"bad partition starting at {value}")
        return b

    fn.__name__ = "failing"
    return fn


def notes_of(exc) -> str:
    return "\n".join(getattr(exc, "__notes__", []))


@pytest.mark.parametrize("exc", [ZeroDivisionError, Boom, KeyError])
def test_user_exception_keeps_its_type_and_gets_a_note(ctx, exc):
    x = partitioned(A, [3, 0, 3, 4])  # partitions start at 1, -, 4, 7
    y = x.map_partitions(fail_on(7.0, exc), dtype=np.float64)
    with pytest.raises(exc) as info:
        y.compute()
    notes = notes_of(info.value)
    assert "stage" in notes and "partition 3" in notes and "failing" in notes, notes
    assert len(info.value.__notes__) == 1
    assert_close(x.sum().compute(), A.sum())  # the context stays usable
    assert_close((x * 2).compute(), A * 2)


def test_user_exception_in_a_later_stage_names_it(ctx):
    left = partitioned(A, [5, 5]).map_partitions(lambda b: b + 0, dtype=np.float64)
    right = partitioned(A, [4, 3, 3]).map_partitions(lambda b: b + 0, dtype=np.float64)
    assert len(left) == len(right) == 10
    z = (left + right).map_partitions(fail_on(12.0), dtype=np.float64)  # second partition of z
    assert "Stage 1" in z.explain()
    with pytest.raises(ZeroDivisionError) as info:
        z.compute()
    assert re.search(r"stage 1\b", notes_of(info.value)) and "partition 1" in notes_of(info.value)


def test_user_exception_in_reductions(ctx):
    x = partitioned(A, [3, 0, 3, 4])
    with pytest.raises(Boom) as info:
        x.reduce(fail_on(4.0, Boom), lambda a, b: a + b).compute()
    assert "partition 2" in notes_of(info.value)
    with pytest.raises(ZeroDivisionError) as info:
        x.aggregate(0.0, lambda acc, b: acc + fail_on(1.0)(b).sum(), lambda a, b: a + b).compute()
    assert "partition 0" in notes_of(info.value)
    with pytest.raises(ZeroDivisionError) as info:
        x.map_partitions(fail_on(4.0), dtype=np.float64).sum().compute()
    assert "partition 2" in notes_of(info.value)
    assert_close(x.reduce(np.sum, lambda a, b: a + b).compute(), A.sum())


def test_error_does_not_damage_persisted_data(ctx):
    counter = Counter()
    p = partitioned(A, [3, 3, 4]).map_partitions(counter, dtype=np.float64).persist()
    assert_close(p.compute(), A)
    with pytest.raises(ZeroDivisionError):
        p.map_partitions(fail_on(4.0), dtype=np.float64).compute()
    assert_close(p.compute(), A)
    assert_close(p.sum().compute(), A.sum())
    counter.assert_each_once(3)


def test_failure_inside_a_persisted_array_keeps_nothing_wrong(ctx):
    state = {"fail": True}

    def flaky(b):
        if state["fail"] and len(b) and b[0] == 4.0:
            raise Boom("transient")
        return b * 2

    p = partitioned(A, [3, 3, 4]).map_partitions(flaky, dtype=np.float64).persist()
    with pytest.raises(Boom):
        p.compute()
    state["fail"] = False
    assert_close(p.compute(), A * 2)
    assert_close(p.sum().compute(), (A * 2).sum())


def test_user_exception_from_a_future_keeps_its_type(ctx):
    x = partitioned(A, [5, 5]).map_partitions(fail_on(6.0, Boom), dtype=np.float64)
    future = ctx.submit(lambda: x.compute())
    with pytest.raises(Boom) as info:
        future.result(timeout=30)
    assert "partition 1" in notes_of(info.value)


# -- filters and masks ----------------------------------------------------------------------------

def test_filter_with_a_non_bool_mask_is_a_clear_error(ctx):
    x = partitioned(A, [5, 5])
    with pytest.raises((TypeError, ValueError), match="bool") as info:
        x.filter(lambda b: b * 2).compute()
    assert "filter" in str(info.value)
    with pytest.raises((TypeError, ValueError), match="bool"):
        x.filter(lambda b: (b > 3).astype(np.int8)).compute()
    with pytest.raises(ValueError, match="shape"):
        x.filter(lambda b: np.ones(len(b) + 1, dtype=bool)).compute()
    assert_close(x.filter(lambda b: b > 3).compute(), A[A > 3])


def test_mask_that_is_not_bool(ctx):
    x = partitioned(A, [5, 5])
    with pytest.raises((TypeError, ValueError), match="bool"):
        x[x * 2].compute()
    assert_close(x[x > 3].compute(), A[A > 3])


def test_compute_rejects_non_arrays():
    with pytest.raises(TypeError, match="int"):
        rd.compute(3)
    with pytest.raises(TypeError):
        rd.compute(partitioned(A, [10]), [1, 2])


def test_persist_levels_are_checked():
    x = rd.from_numpy(np.arange(10.0), npartitions=2)
    with pytest.raises(ValueError, match="unknown level 'ram'"):
        x.persist("ram")
    assert x.persist("memory") is x


# -- rd.config ---------------------------------------------------------------------------------------

def test_config_rejects_unknown_names_and_keeps_its_values():
    before = rd.config.partition_bytes
    with pytest.raises(AttributeError, match="partition_byte.*did you mean 'partition_bytes'"):
        rd.config.partition_byte = 1 << 20
    with pytest.raises(AttributeError, match="no setting 'nonsense'.*broadcast_bytes"):
        rd.config.nonsense = 1
    assert not hasattr(rd.config, "partition_byte") and rd.config.partition_bytes == before


@pytest.mark.parametrize("name, value, error", [("partition_bytes", "8MB", TypeError),
                                                ("partition_bytes", 1.5, TypeError),
                                                ("min_split_bytes", True, TypeError),
                                                ("partition_bytes", 0, ValueError),
                                                ("broadcast_bytes", -1, ValueError)])
def test_config_checks_values(name, value, error):
    before = getattr(rd.config, name)
    with pytest.raises(error, match=f"rd.config.{name}"):
        setattr(rd.config, name, value)
    assert getattr(rd.config, name) == before


def test_config_takes_numpy_integers_and_zero_broadcast(monkeypatch):
    monkeypatch.setattr(rd.config, "partition_bytes", np.int64(1 << 20))
    monkeypatch.setattr(rd.config, "broadcast_bytes", 0)  # never broadcast
    assert type(rd.config.partition_bytes) is int and rd.config.partition_bytes == 1 << 20


WRONG_TYPES = [
    ("from_numpy npartitions", lambda: rd.from_numpy(np.arange(4.0), npartitions="2"), "npartitions"),
    ("from_numpy partition_size", lambda: rd.from_numpy(np.arange(4.0), partition_size=1.5), "partition_size"),
    ("zeros shape", lambda: rd.zeros(2.5), "shape"),
    ("linspace num", lambda: rd.linspace(0, 1, 2.0), "num"),
    ("random seed", lambda: rd.random.random(4, seed="1"), "seed"),
    ("Context workers", lambda: rd.Context(workers=1.5), "workers"),
    ("head n", lambda: rd.arange(4).head(1.5), "head"),
    ("sum axis", lambda: rd.arange(4).sum(axis=0.0), "axis"),
    ("histogram bins", lambda: rd.arange(4).histogram(bins=2.5), "bins"),
    ("progress delay", lambda: rd.progress(delay="1").__enter__(), "delay"),
]


@pytest.mark.parametrize("call, word", [c[1:] for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES])
def test_an_argument_of_the_wrong_type_is_a_type_error(call, word):
    """Wrong type -> TypeError (also a ValueError, as these raised before the rule applied to them)."""
    if word == "delay":
        pytest.importorskip("tqdm")
    with pytest.raises(TypeError, match=word) as caught:
        call()
    assert isinstance(caught.value, ValueError)


def test_an_argument_of_the_right_type_and_a_wrong_value_is_a_value_error_only():
    for call in (lambda: rd.from_numpy(np.arange(4.0), npartitions=0), lambda: rd.zeros(-1),
                 lambda: rd.arange(4).sum(axis=1), lambda: rd.Context(workers=0)):
        with pytest.raises(ValueError) as caught:
            call()
        assert not isinstance(caught.value, TypeError)
