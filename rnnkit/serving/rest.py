"""TF Serving's REST JSON mapping for predict, both ways.

The rules (TF Serving's ``api_rest.md``):

- a request holds ``instances`` (the row format: one entry per example, an
  object of named inputs that all share the 0-th dimension) or ``inputs``
  (the columnar format: an object of named tensors, or one bare tensor),
  never both; ``signature_name`` is optional;
- the reply to a row request is ``predictions`` (a list of objects, or a
  list of values when the signature has one output), to a columnar request
  ``outputs`` (an object, or the bare tensor when there is one output);
- strings are JSON strings; binary strings are ``{"b64": "..."}``, which the
  server accepts for any string input and writes for outputs whose name ends
  in ``_bytes``;
- numbers are JSON numbers, and ``NaN``/``Infinity`` are allowed.
"""

import base64

import numpy as np

BYTES_SUFFIX = "_bytes"


class MappingError(ValueError):
    """A JSON body that does not follow TF Serving's mapping."""


def _string_to_json(value: bytes, binary: bool):
    if not binary:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(value).decode("ascii")}


def to_json(array, binary: bool = False):
    """A numpy array (or scalar) as nested JSON lists; strings as text or ``b64``."""
    array = np.asarray(array)
    if array.dtype.kind in "SUO":
        flat = [
            _string_to_json(v.encode("utf-8") if isinstance(v, str) else bytes(v), binary)
            for v in array.reshape(-1)
        ]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(array.shape).tolist()
    if array.dtype in (np.float16, np.float32):
        # The shortest decimal that reads back as the same float32: 0.8, not 0.800000011920929.
        shortest = np.array([float(str(v)) for v in array.reshape(-1)], dtype=np.float64)
        return shortest.reshape(array.shape).tolist()
    return array.tolist()


def _string_from_json(value) -> bytes:
    if isinstance(value, dict):
        if set(value) != {"b64"}:
            raise MappingError(f"a binary value is {{'b64': ...}}, not {sorted(value)}")
        return base64.b64decode(value["b64"])
    if isinstance(value, str):
        return value.encode("utf-8")
    raise MappingError(f"expected a string, got {type(value).__name__}")


def _is_string(value) -> bool:
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, (str, dict))


def _shape_and_leaves(value) -> tuple[tuple[int, ...], list]:
    if not isinstance(value, list):
        return (), [value]
    parts = [_shape_and_leaves(v) for v in value]
    shapes = {shape for shape, _ in parts}
    if len(shapes) > 1:
        raise MappingError("a ragged tensor: every row needs the same shape")
    inner = shapes.pop() if shapes else ()
    return (len(value), *inner), [leaf for _, leaves in parts for leaf in leaves]


def from_json(value, dtype=None) -> np.ndarray:
    """Nested JSON lists as a numpy array of ``dtype`` (``object`` holding bytes for strings).

    Without a dtype, strings and ``b64`` objects give bytes, numbers numpy's choice.
    """
    strings = _is_string(value) if dtype is None else np.dtype(dtype).kind in "SUO"
    if not strings:
        try:
            return np.asarray(value, dtype=dtype)
        except ValueError as e:
            raise MappingError(f"a ragged tensor or a value of the wrong type: {e}") from None
    shape, leaves = _shape_and_leaves(value)
    out = np.empty(len(leaves), dtype=object)
    out[:] = [_string_from_json(v) for v in leaves]
    return out.reshape(shape)


# -- requests -------------------------------------------------------------------------------


def row_request(inputs: dict, signature_name: str | None = None) -> dict:
    """``{"instances": [...]}``: one object of named inputs per example."""
    arrays = {k: np.asarray(v) for k, v in inputs.items()}
    sizes = {k: (a.shape[0] if a.ndim else None) for k, a in arrays.items()}
    if None in sizes.values() or len(set(sizes.values())) > 1:
        raise MappingError(
            f"the row format needs every input batch-major with one batch size: {sizes}"
        )
    columns = {k: to_json(a, k.endswith(BYTES_SUFFIX)) for k, a in arrays.items()}
    count = next(iter(sizes.values())) if sizes else 0
    body = {"instances": [{k: columns[k][i] for k in columns} for i in range(count)]}
    if signature_name:
        body = {"signature_name": signature_name, **body}
    return body


def columnar_request(inputs: dict, signature_name: str | None = None) -> dict:
    """``{"inputs": {name: tensor}}``."""
    body = {"inputs": {k: to_json(v, k.endswith(BYTES_SUFFIX)) for k, v in inputs.items()}}
    if signature_name:
        body = {"signature_name": signature_name, **body}
    return body


def parse_request(body: dict, input_dtypes: dict) -> tuple[dict[str, np.ndarray], bool]:
    """``(inputs, row_format)`` of a predict body, typed by ``{name: numpy dtype}``."""
    if not isinstance(body, dict):
        raise MappingError("the body is a JSON object")
    if ("instances" in body) == ("inputs" in body):
        raise MappingError("a predict body holds exactly one of `instances` and `inputs`")
    names = list(input_dtypes)
    if "inputs" in body:
        value = body["inputs"]
        if not (isinstance(value, dict) and set(value) <= set(names) and value):
            if len(names) != 1:
                raise MappingError(f"`inputs` names the inputs {names}")
            value = {names[0]: value}
        return {k: from_json(v, input_dtypes[k]) for k, v in value.items()}, False
    rows = body["instances"]
    if not isinstance(rows, list) or not rows:
        raise MappingError("`instances` is a non-empty list")
    if not all(isinstance(r, dict) for r in rows):
        if len(names) != 1:
            raise MappingError(f"each instance is an object of the inputs {names}")
        rows = [{names[0]: r} for r in rows]
    keys = set(rows[0])
    if any(set(r) != keys for r in rows):
        raise MappingError("every instance names the same inputs")
    return {k: from_json([r[k] for r in rows], input_dtypes.get(k)) for k in rows[0]}, True


# -- replies --------------------------------------------------------------------------------


def reply(outputs: dict, row_format: bool) -> dict:
    """The server's JSON for ``{name: array}``."""
    columns = {k: to_json(v, k.endswith(BYTES_SUFFIX)) for k, v in outputs.items()}
    if row_format:
        count = {np.shape(v)[0] if np.ndim(v) else None for v in outputs.values()}
        if len(count) != 1 or None in count:
            raise MappingError("the row format needs outputs with one batch size")
        n = count.pop()
        if len(columns) == 1:
            return {"predictions": next(iter(columns.values()))}
        return {"predictions": [{k: columns[k][i] for k in columns} for i in range(n)]}
    if len(columns) == 1:
        return {"outputs": next(iter(columns.values()))}
    return {"outputs": columns}


def parse_reply(body: dict, output_dtypes: dict) -> dict[str, np.ndarray]:
    """``{name: array}`` from a predict reply, typed by ``{name: numpy dtype}``."""
    names = list(output_dtypes)
    if "predictions" in body:
        rows = body["predictions"]
        if len(names) == 1 and not (rows and isinstance(rows[0], dict)):
            return {names[0]: from_json(rows, output_dtypes[names[0]])}
        return {k: from_json([r[k] for r in rows], output_dtypes[k]) for k in names}
    if "outputs" in body:
        value = body["outputs"]
        if len(names) == 1 and not (isinstance(value, dict) and names[0] in value):
            return {names[0]: from_json(value, output_dtypes[names[0]])}
        return {k: from_json(value[k], output_dtypes[k]) for k in names}
    raise MappingError(f"a predict reply holds `predictions` or `outputs`, not {sorted(body)}")
