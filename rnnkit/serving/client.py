"""Clients for a running TF Serving: REST (``http://host:8501``) and gRPC (``grpc://host:8500``).

``connect(url, model, version, timeout).signatures[name](**inputs)`` returns
``{output: tf.Tensor}`` as a loaded SavedModel's signature does, so an app
verb runs the same code against a local SavedModel or a server. The
signatures' dtypes come from the server's model metadata.

Every failure (no server, a timeout, an unknown model, a version that is not
loaded, a refused request) is a ``ServingError``: one line, exit code 2.

A server's reply is untrusted: ``--timeout`` bounds each call as a whole (a
server that sends a byte a second is stopped), a reply larger than
``MAX_REPLY_BYTES`` is refused as it arrives, and a reply that is not the
JSON object TF Serving sends, or whose batch differs from the request's, is
named in one line.
"""

import json
import threading
import urllib.parse

import numpy as np
import tensorflow as tf

from rnnkit.errors import InputError
from rnnkit.serving import rest


class ServingError(InputError):
    """TF Serving could not answer the request."""


# Far above any rnnkit reply (a batch of 32 captions with attention maps is
# about 2 MB of JSON); gRPC's own default limit is 4 MB.
MAX_REPLY_BYTES = 64 << 20


def _numpy_dtype(name: str):
    from tensorflow.core.framework import types_pb2

    dtype = tf.dtypes.as_dtype(types_pb2.DataType.Value(name))
    return object if dtype == tf.string else dtype.as_numpy_dtype


def _as_numpy(value) -> np.ndarray:
    return value.numpy() if isinstance(value, tf.Tensor) else np.asarray(value)


class _Signature:
    def __init__(self, client, name):
        self.client, self.name = client, name

    def __call__(self, **inputs):
        out = self.client.predict(self.name, {k: _as_numpy(v) for k, v in inputs.items()})
        return {k: tf.constant(v) for k, v in out.items()}


class _Signatures:
    """A mapping like ``loaded.signatures``, over the server's signature defs."""

    def __init__(self, client):
        self.client = client

    def __contains__(self, name):
        return name in self.client.signature_defs()

    def __getitem__(self, name):
        if name not in self:
            raise ServingError(f"{self.client.where()} has no signature `{name}`")
        return _Signature(self.client, name)

    def keys(self):
        return self.client.signature_defs().keys()


class Client:
    """What both protocols share: the model spec, the metadata cache, the messages."""

    def __init__(self, url: str, model: str, version: int | None = None, timeout: float = 30.0):
        self.url, self.model, self.version, self.timeout = url, model, version, timeout
        self._defs = None

    def where(self) -> str:
        version = f" version {self.version}" if self.version is not None else ""
        return f"TF Serving at {self.url} (model `{self.model}`{version})"

    @property
    def signatures(self) -> _Signatures:
        return _Signatures(self)

    def signature_defs(self) -> dict:
        """``{signature: {"inputs": {name: dtype}, "outputs": {name: dtype}}}``."""
        if self._defs is None:
            self._defs = self._metadata()
        return self._defs

    def predict(self, signature: str, inputs: dict) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _metadata(self) -> dict:
        raise NotImplementedError

    def _late(self) -> ServingError:
        return ServingError(f"TF Serving at {self.url} did not answer within {self.timeout:g} s")

    def _not_found(self, detail: str) -> ServingError:
        """Tells a missing model from a version that is not loaded."""
        if self.version is not None:
            versionless = type(self)(self.url, self.model, None, self.timeout)
            try:
                versionless._metadata()
            except ServingError:
                pass
            else:
                return ServingError(
                    f"TF Serving at {self.url} has not loaded version {self.version} of "
                    f"`{self.model}` ({detail})"
                )
        return ServingError(f"TF Serving at {self.url} has no model `{self.model}` ({detail})")

    def _defs_from(self, signature_defs) -> dict:
        def types(tensors):
            return {k: _numpy_dtype(v) for k, v in tensors.items()}

        return {
            name: {"inputs": types(d["inputs"]), "outputs": types(d["outputs"])}
            for name, d in signature_defs.items()
            if name != "__saved_model_init_op"
        }


class RestClient(Client):
    """TF Serving's REST API: ``POST /v1/models/NAME[/versions/N]:predict``, row format."""

    def _path(self) -> str:
        version = f"/versions/{self.version}" if self.version is not None else ""
        return f"{self.url.rstrip('/')}/v1/models/{urllib.parse.quote(self.model)}{version}"

    def _call(self, method: str, url: str, body=None) -> dict:
        """The reply's JSON object, within ``timeout`` seconds in all and ``MAX_REPLY_BYTES``."""
        import requests

        if getattr(self, "_session", None) is None:
            self._session = requests.Session()  # keeps the connection between calls
        outcome: dict = {}

        def fetch():
            try:
                outcome["reply"] = self._fetch(method, url, body)
            except Exception as e:  # handed to the caller's thread
                outcome["error"] = e

        # requests' timeout bounds each socket read, not the call: a daemon
        # thread does the call and is left behind when the deadline passes.
        worker = threading.Thread(target=fetch, daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise self._late()
        if "error" in outcome:
            raise self._failure(outcome["error"]) from None
        status, content = outcome["reply"]
        try:
            document = json.loads(content)
        except ValueError:
            text = content[:200].decode("utf-8", "replace").strip()
            if status == 200:
                why = f"{self.where()} sent a reply that is not JSON: {text[:60]!r}"
                raise ServingError(why) from None
            document = {"error": text or f"HTTP {status}"}
        if status == 404 and isinstance(document, dict):
            raise self._not_found(str(document.get("error", "not found")))
        if status != 200:
            error = document.get("error") if isinstance(document, dict) else None
            raise ServingError(f"{self.where()} refused the request: {error or f'HTTP {status}'}")
        if not isinstance(document, dict):
            shown = json.dumps(document)[:60]
            raise ServingError(f"{self.where()} sent a reply that is not a JSON object: {shown}")
        if "error" in document:
            raise ServingError(f"{self.where()} refused the request: {document['error']}")
        return document

    def _fetch(self, method: str, url: str, body) -> tuple[int, bytes]:
        """``(status, body)``, read in pieces so an oversized reply stops as it arrives."""
        response = self._session.request(method, url, json=body, timeout=self.timeout, stream=True)
        with response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
                raise _TooLarge(int(declared))
            pieces, size = [], 0
            for piece in response.iter_content(chunk_size=1 << 16):
                size += len(piece)
                if size > MAX_REPLY_BYTES:
                    raise _TooLarge(size)
                pieces.append(piece)
        return response.status_code, b"".join(pieces)

    def _failure(self, error: Exception) -> ServingError:
        """One line for what went wrong on the way."""
        import requests

        if isinstance(error, _TooLarge):
            return ServingError(
                f"{self.where()} sent a reply larger than {MAX_REPLY_BYTES >> 20} MiB; stopped"
            )
        if isinstance(error, requests.Timeout):
            return self._late()
        text = str(error)
        closed = isinstance(error, requests.exceptions.ChunkedEncodingError) or any(
            words in text for words in ("RemoteDisconnected", "Connection aborted", "BadStatusLine")
        )
        if closed:
            return ServingError(
                f"{self.url} closed the connection before a whole reply (is it TF Serving's REST "
                "port, 8501? its gRPC port takes grpc://)"
            )
        if isinstance(error, requests.ConnectionError):
            return ServingError(f"cannot reach TF Serving at {self.url}: is it running?")
        return ServingError(f"{self.where()} failed: {type(error).__name__}: {text[:200]}")

    def _metadata(self) -> dict:
        document = self._call("GET", self._path() + "/metadata")
        try:
            defs = document["metadata"]["signature_def"]["signature_def"]
            return self._defs_from({n: d for n, d in defs.items()})
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ServingError(f"{self.where()} sent metadata without signatures ({e})") from None

    def _defs_from(self, signature_defs) -> dict:
        return super()._defs_from(
            {
                name: {
                    "inputs": {k: v["dtype"] for k, v in d.get("inputs", {}).items()},
                    "outputs": {k: v["dtype"] for k, v in d.get("outputs", {}).items()},
                }
                for name, d in signature_defs.items()
            }
        )

    def predict(self, signature, inputs):
        outputs = self.signature_defs()[signature]["outputs"]
        body = rest.row_request(inputs, signature)
        document = self._call("POST", self._path() + ":predict", body)
        try:
            found = rest.parse_reply(document, outputs)
        except (rest.MappingError, KeyError, ValueError, TypeError, IndexError) as e:
            raise ServingError(f"{self.where()} sent a reply rnnkit cannot read: {e}") from None
        _check_batch(self, inputs, found)
        return found


class _TooLarge(Exception):
    pass


def _check_batch(client: Client, inputs: dict, outputs: dict) -> None:
    """Every output has the request's batch size (a reply of ``[]`` does not)."""
    batch = {np.shape(v)[0] for v in inputs.values() if np.ndim(v)}
    for name, value in outputs.items():
        size = np.shape(value)[0] if np.ndim(value) else None
        if batch and size not in batch:
            raise ServingError(
                f"{client.where()} sent `{name}` for a batch of {size}, not of {batch.pop()}"
            )


class GrpcClient(Client):
    """TF Serving's gRPC ``PredictionService`` (stubs from tensorflow-serving-api)."""

    def __init__(self, url, model, version=None, timeout=30.0):
        super().__init__(url, model, version, timeout)
        self.target = urllib.parse.urlsplit(url).netloc
        self._channel = None

    def _stub(self):
        """One channel per client, opened on the first call and kept (a verb's calls reuse it)."""
        if self._channel is None:
            import grpc
            from tensorflow_serving.apis import prediction_service_pb2_grpc

            self._channel = grpc.insecure_channel(self.target)
            self._stub_ = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        return self._stub_

    def close(self):
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def _spec(self, spec, signature=""):
        spec.name = self.model
        if self.version is not None:
            spec.version.value = self.version
        if signature:
            spec.signature_name = signature

    def _rpc(self, method: str, request):
        import grpc

        try:
            return getattr(self._stub(), method)(request, timeout=self.timeout)
        except grpc.RpcError as e:
            code, detail = e.code(), (e.details() or "").strip()
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise self._late() from None
            # gRPC's words for an HTTP/1 server on the port (TF Serving's REST port).
            http1 = ("http1", "failed parsing http/2")
            if code == grpc.StatusCode.UNAVAILABLE and any(w in detail.lower() for w in http1):
                raise ServingError(
                    f"{self.url} answers HTTP/1.x, not gRPC: give its REST port as http:// "
                    "(8501), or TF Serving's gRPC port (8500)"
                ) from None
            if code == grpc.StatusCode.UNAVAILABLE:
                raise ServingError(
                    f"cannot reach TF Serving at {self.url}: is it running?"
                ) from None
            if code == grpc.StatusCode.NOT_FOUND:
                raise self._not_found(detail) from None
            raise ServingError(
                f"{self.where()} refused the request: {code.name}: {detail}"
            ) from None

    def _metadata(self) -> dict:
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._spec(request.model_spec)
        response = self._rpc("GetModelMetadata", request)
        defs = get_model_metadata_pb2.SignatureDefMap()
        if not response.metadata["signature_def"].Unpack(defs):
            raise ServingError(f"{self.where()} sent metadata without signatures")
        from tensorflow.core.framework import types_pb2

        return self._defs_from(
            {
                name: {
                    "inputs": {k: types_pb2.DataType.Name(v.dtype) for k, v in d.inputs.items()},
                    "outputs": {k: types_pb2.DataType.Name(v.dtype) for k, v in d.outputs.items()},
                }
                for name, d in defs.signature_def.items()
            }
        )

    def predict(self, signature, inputs):
        from tensorflow_serving.apis import predict_pb2

        from rnnkit.serving.layout import tensor_proto

        self.signature_defs()  # a missing model or version fails here, by name
        request = predict_pb2.PredictRequest()
        self._spec(request.model_spec, signature)
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tensor_proto(value))
        response = self._rpc("Predict", request)
        try:
            found = {k: tf.make_ndarray(v) for k, v in response.outputs.items()}
        except (TypeError, ValueError) as e:
            raise ServingError(f"{self.where()} sent a reply rnnkit cannot read: {e}") from None
        _check_batch(self, inputs, found)
        return found


def connect(url: str, model: str, version: int | None = None, timeout: float = 30.0) -> Client:
    """A client for ``http(s)://host:port`` (REST) or ``grpc://host:port``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return RestClient(url, model, version, timeout)
    if parts.scheme == "grpc" and parts.netloc:
        return GrpcClient(url, model, version, timeout)
    raise ServingError(
        f"--server {url}: give http://HOST:PORT (TF Serving's REST port, 8501) "
        "or grpc://HOST:PORT (its gRPC port, 8500)"
    )
