"""A stand-in for TF Serving, for the tests of rnnkit's serving clients only.

It is not TF Serving and not a way to serve models. It answers the two
routes the clients use, the way TF Serving's documentation describes them,
by calling the SavedModel's signatures in this process:

- REST: ``GET /v1/models/NAME[/versions/N]/metadata`` and
  ``POST /v1/models/NAME[/versions/N]:predict`` (row and columnar bodies);
- gRPC ``tensorflow.serving.PredictionService``: ``Predict`` and
  ``GetModelMetadata``.

Like TF Serving with its default version policy, it loads the latest version
of every model in ``models.config``; any other version is "not found".
"""

import json
import re
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format, text_format
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from tensorflow_serving.config import model_server_config_pb2

from rnnkit.serving import layout, rest

_ROUTE = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?(/metadata|:predict)$")


class NotFound(Exception):
    pass


class _Model:
    def __init__(self, path: Path):
        self.version = int(path.name)
        self.loaded = tf.saved_model.load(str(path))
        proto = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
        self.defs = {
            k: v
            for k, v in proto.meta_graphs[0].signature_def.items()
            if k != "__saved_model_init_op"
        }

    def dtypes(self, signature: str, kind: str) -> dict:
        tensors = getattr(self.defs[signature], kind)
        dtypes = {k: tf.as_dtype(v.dtype) for k, v in tensors.items()}
        return {k: object if d == tf.string else d.as_numpy_dtype for k, d in dtypes.items()}

    def run(self, signature: str, inputs: dict) -> dict:
        if signature not in self.defs:
            raise ValueError(f'Serving signature name: "{signature}" not found in signature def')
        function = self.loaded.signatures[signature]
        outputs = function(**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in outputs.items()}


class StandIn:
    """Serves ``saved_models/models.config`` on loopback ports (REST and gRPC)."""

    def __init__(self, saved_models: Path, delay: float = 0.0, rest_predict=None):
        """``rest_predict(handler)``, when given, answers every REST predict request itself
        (a misbehaving server, for the client's safety tests)."""
        config = text_format.Parse(
            (Path(saved_models) / "models.config").read_text(),
            model_server_config_pb2.ModelServerConfig(),
        )
        self.models = {
            c.name: _Model(layout.latest(c.base_path)) for c in config.model_config_list.config
        }
        self.delay = delay
        self.rest_predict = rest_predict
        self.requests: list[tuple[str, str]] = []  # (protocol, what) of each request served

    def find(self, name: str, version: int | None) -> _Model:
        model = self.models.get(name)
        if model is None or (version is not None and version != model.version):
            wanted = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            raise NotFound(f"Servable not found for request: {wanted}")
        return model

    def metadata(self, name, version) -> tuple[_Model, get_model_metadata_pb2.SignatureDefMap]:
        model = self.find(name, version)
        defs = get_model_metadata_pb2.SignatureDefMap()
        for k, v in model.defs.items():
            defs.signature_def[k].CopyFrom(v)
        return model, defs

    # -- servers -------------------------------------------------------------------------

    def __enter__(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, document):
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except BrokenPipeError:  # the client gave up waiting (the timeout tests)
                    pass

            def _route(self, verb):
                match = _ROUTE.match(self.path)
                if not match or (match[3] == ":predict") != (verb == "POST"):
                    return self._send(404, {"error": f"Malformed request: {verb} {self.path}"})
                time.sleep(standin.delay)
                name, version = match[1], int(match[2]) if match[2] else None
                standin.requests.append(("rest", match[3]))
                try:
                    if match[3] == "/metadata":
                        model, defs = standin.metadata(name, version)
                        return self._send(
                            200,
                            {
                                "model_spec": {"name": name, "version": str(model.version)},
                                "metadata": {
                                    "signature_def": json_format.MessageToDict(
                                        defs, preserving_proto_field_name=True
                                    )
                                },
                            },
                        )
                    if standin.rest_predict is not None:
                        return standin.rest_predict(self)
                    model = standin.find(name, version)
                    length = int(self.headers.get("Content-Length", 0))
                    body = json.loads(self.rfile.read(length))
                    signature = body.pop("signature_name", "serving_default")
                    if signature not in model.defs:
                        raise ValueError(f'Serving signature name: "{signature}" not found')
                    inputs, row = rest.parse_request(body, model.dtypes(signature, "inputs"))
                    return self._send(200, rest.reply(model.run(signature, inputs), row))
                except NotFound as e:
                    return self._send(404, {"error": str(e)})
                except (ValueError, rest.MappingError, tf.errors.OpError) as e:
                    return self._send(400, {"error": str(e).splitlines()[0]})

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.rest_url = f"http://127.0.0.1:{self.http.server_address[1]}"

        class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
            def GetModelMetadata(self, request, context):
                time.sleep(standin.delay)
                standin.requests.append(("grpc", "GetModelMetadata"))
                version = request.model_spec.version.value or None
                try:
                    model, defs = standin.metadata(request.model_spec.name, version)
                except NotFound as e:
                    context.abort(grpc.StatusCode.NOT_FOUND, str(e))
                response = get_model_metadata_pb2.GetModelMetadataResponse()
                response.model_spec.name = request.model_spec.name
                response.model_spec.version.value = model.version
                response.metadata["signature_def"].Pack(defs)
                return response

            def Predict(self, request, context):
                time.sleep(standin.delay)
                standin.requests.append(("grpc", "Predict"))
                version = request.model_spec.version.value or None
                signature = request.model_spec.signature_name or "serving_default"
                try:
                    model = standin.find(request.model_spec.name, version)
                    inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
                    outputs = model.run(signature, inputs)
                except NotFound as e:
                    context.abort(grpc.StatusCode.NOT_FOUND, str(e))
                except (ValueError, tf.errors.OpError) as e:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e).splitlines()[0])
                response = predict_pb2.PredictResponse()
                response.model_spec.name = request.model_spec.name
                response.model_spec.version.value = model.version
                for k, v in outputs.items():
                    response.outputs[k].CopyFrom(layout.tensor_proto(np.asarray(v)))
                return response

        self.grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), self.grpc)
        port = self.grpc.add_insecure_port("127.0.0.1:0")
        self.grpc.start()
        self.grpc_url = f"grpc://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()
        self.grpc.stop(None)
