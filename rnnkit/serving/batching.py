"""TF Serving's ``--batching_parameters_file``: its message, and what makes one wrong."""

from pathlib import Path


def batching_parameters_class():
    """TF Serving's ``BatchingParameters`` message (session_bundle_config.proto, which
    tensorflow-serving-api does not ship), built from its field numbers and types."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    file = descriptor_pb2.FileDescriptorProto(
        name="rnnkit_batching.proto",
        package="tensorflow.serving",
        dependency=["google/protobuf/wrappers.proto"],
        syntax="proto3",
    )
    message = file.message_type.add(name="BatchingParameters")
    F = descriptor_pb2.FieldDescriptorProto
    for number, (name, kind) in enumerate(
        [
            ("max_batch_size", ".google.protobuf.Int64Value"),
            ("batch_timeout_micros", ".google.protobuf.Int64Value"),
            ("max_enqueued_batches", ".google.protobuf.Int64Value"),
            ("num_batch_threads", ".google.protobuf.Int64Value"),
            ("thread_pool_name", ".google.protobuf.StringValue"),
        ],
        start=1,
    ):
        message.field.add(
            name=name, number=number, type=F.TYPE_MESSAGE, type_name=kind, label=F.LABEL_OPTIONAL
        )
    message.field.add(
        name="allowed_batch_sizes", number=6, type=F.TYPE_INT64, label=F.LABEL_REPEATED
    )
    message.field.add(
        name="pad_variable_length_inputs", number=7, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL
    )
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
    )


def batching_problem(path: Path) -> tuple[str | None, int | None]:
    """What is wrong with the ``BatchingParameters`` at ``path`` (None if nothing), and its
    ``max_batch_size``."""
    from google.protobuf import text_format

    try:
        params = text_format.Parse(path.read_text(), batching_parameters_class()())
    except (text_format.ParseError, UnicodeDecodeError) as e:
        return f"not a BatchingParameters: {e}", None
    size = params.max_batch_size.value if params.HasField("max_batch_size") else None
    if size is not None and size < 1:
        return "max_batch_size must be at least 1", size
    allowed = list(params.allowed_batch_sizes)
    if allowed and (allowed != sorted(allowed) or (size is not None and allowed[-1] != size)):
        return "allowed_batch_sizes must increase and end at max_batch_size", size
    return None, size
