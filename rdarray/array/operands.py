"""Operands of an operation: the ones read from the lineage, and constants bound in place."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def bind(func: Callable, operands: Sequence, is_input: Callable[[object], bool]):
    """``(inputs, call)``: the operands for which ``is_input`` holds, and ``call(*input_values)``,
    which runs ``func`` on every operand with the inputs replaced by their values (keyword
    arguments pass through)."""
    inputs: list = []
    slots: list[int | None] = []
    constants: list = []
    for o in operands:
        if is_input(o):
            slots.append(len(inputs))
            inputs.append(o)
            constants.append(None)
        else:
            slots.append(None)
            constants.append(o)
    if all(s is not None for s in slots) and slots == list(range(len(slots))):
        return inputs, func
    if len(operands) == 2 and len(inputs) == 1:  # an array and a constant: no list built per call
        constant = constants[0] if slots[0] is None else constants[1]
        if slots[0] is None:
            def call_right(value, **kwargs):
                return func(constant, value, **kwargs)

            return inputs, call_right

        def call_left(value, **kwargs):
            return func(value, constant, **kwargs)

        return inputs, call_left

    def call(*values, **kwargs):
        return func(*[values[s] if s is not None else c for s, c in zip(slots, constants)], **kwargs)

    return inputs, call
