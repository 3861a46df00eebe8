"""Clients for a running TF Serving: REST (``http://host:8501``) and gRPC (``grpc://host:8500``).

``connect(url, model, version, timeout).signatures[name](**inputs)`` returns
``{output: tf.Tensor}`` as a loaded SavedModel's signature does, so an app
verb runs the same code against a local SavedModel or a server. The
signatures' dtypes come from the server's model metadata.

Every failure (no server, a timeout, an unknown model, a version that is not
loaded, a refused request) is a ``ServingError``: one line, exit code 2.
"""

import urllib.parse

import numpy as np
import tensorflow as tf

from rnnkit.errors import InputError
from rnnkit.serving import rest


class ServingError(InputError):
    """TF Serving could not answer the request."""


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
        import requests

        if getattr(self, "_session", None) is None:
            self._session = requests.Session()  # keeps the connection between calls
        try:
            response = self._session.request(method, url, json=body, timeout=self.timeout)
        except requests.Timeout:
            raise ServingError(
                f"TF Serving at {self.url} did not answer within {self.timeout:g} s"
            ) from None
        except requests.ConnectionError:
            raise ServingError(f"cannot reach TF Serving at {self.url}: is it running?") from None
        try:
            document = response.json()
        except ValueError:
            document = {"error": response.text.strip()[:200] or f"HTTP {response.status_code}"}
        if response.status_code == 404:
            raise self._not_found(str(document.get("error", "not found")))
        if response.status_code != 200 or "error" in document:
            error = document.get("error", f"HTTP {response.status_code}")
            raise ServingError(f"{self.where()} refused the request: {error}")
        return document

    def _metadata(self) -> dict:
        document = self._call("GET", self._path() + "/metadata")
        try:
            defs = document["metadata"]["signature_def"]["signature_def"]
            return self._defs_from({n: d for n, d in defs.items()})
        except (KeyError, TypeError, ValueError) as e:
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
            return rest.parse_reply(document, outputs)
        except (rest.MappingError, KeyError, ValueError) as e:
            raise ServingError(f"{self.where()} sent a reply rnnkit cannot read: {e}") from None


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
                raise ServingError(
                    f"TF Serving at {self.url} did not answer within {self.timeout:g} s"
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
        return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}


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
