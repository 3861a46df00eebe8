"""caption's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from rnnkit.configs import FULL_TRAIN, QUICK_TRAIN, TINY_TRAIN, AppConfig
from rnnkit.fields import RATE, Config, setting

CELLS = ("lstm", "gru")
ENCODERS = ("cnn", "mobilenet_v3_small", "efficientnet_b0", "resnet50")


@dataclasses.dataclass(frozen=True)
class StripStyle(Config):
    """How the embedded data's strips of digits are drawn (ranges are uniform draws)."""

    gap: tuple[int, int] = setting((1, 6), "Pixels between neighbouring digits: LOW,HIGH.")
    scale: tuple[float, float] = setting(
        (0.8, 1.05), "Digit size against MNIST's 28 pixels: LOW,HIGH."
    )
    rotation: float = setting(10.0, "Degrees either way.", min=0)
    thin: float = setting(0.25, "The chance of a thinner stroke (grey erosion).", min=0, max=1)
    thick: float = setting(0.25, "The chance of a thicker stroke (grey dilation).", min=0, max=1)
    stroke: int = setting(2, "Pixels of the erosion or dilation.", min=1)
    noise: float = setting(
        24.0, "Largest standard deviation of the Gaussian background noise (0-255).", min=0
    )
    jitter: int = setting(2, "Pixels up or down.", min=0)
    elastic: float = setting(
        0.0,
        "Largest strength of an elastic distortion of each digit (Simard et al. 2003: a "
        "random displacement field smoothed by a Gaussian of 4 pixels; 0: none).",
        min=0,
    )
    aspect: tuple[float, float] = setting(
        (1.0, 1.0), "Each digit's width stretched by LOW,HIGH (its height kept)."
    )
    low_res: float = setting(
        0.0,
        "The chance that a digit is drawn at a low resolution (``low_height``) and scaled "
        "back up, blocky or blurred, as a small scan or a photo of one is.",
        min=0,
        max=1,
    )
    low_height: tuple[int, int] = setting(
        (8, 14), "Pixels high a low-resolution digit is drawn at: LOW,HIGH."
    )
    blur: tuple[float, float] = setting(
        (0.0, 0.0), "Gaussian blur of the whole strip (sigma in pixels): LOW,HIGH."
    )
    blurred: float = setting(1.0, "The chance that a strip is blurred (``blur``).", min=0, max=1)
    contrast: tuple[float, float] = setting(
        (0.7, 1.0), "The brightest ink against white (a faint pen, a dull scan): LOW,HIGH."
    )

    def __post_init__(self):
        super().__post_init__()
        if len(self.gap) != 2 or not (0 <= self.gap[0] <= self.gap[1]):
            raise ValueError(
                f"`gap` must be a range (low, high) of pixels. Received: gap={self.gap}"
            )
        if len(self.scale) != 2 or not (0 < self.scale[0] <= self.scale[1]):
            raise ValueError(f"`scale` must be a positive range. Received: scale={self.scale}")
        for name in ("aspect", "low_height", "blur", "contrast"):
            low, high = value = getattr(self, name)
            if not 0 <= low <= high or (name != "blur" and low == 0):
                raise ValueError(f"`{name}` must be a range (low, high). Received: {name}={value}")
        if self.thin + self.thick > 1:
            raise ValueError(
                "`thin` and `thick` must be chances that sum to at most 1. "
                f"Received: thin={self.thin}, thick={self.thick}"
            )


# What training draws from when ``DataConfig.augment`` is on: every range
# wider than the test strips' (``StripStyle()``), so that the model has seen
# more than the test set shows; the robustness conditions of
# benchmarks/caption_quality.py lie beyond these ranges again.
WIDE_STYLE = StripStyle(
    gap=(1, 9), scale=(0.65, 1.1), rotation=14.0, thin=0.35, thick=0.35, noise=40.0, jitter=3
)
# With ``DataConfig.degrade`` the training strips are degraded as other
# scanners and writers degrade them, short of the conditions' ranges: a
# third of the digits drawn 15-22 px high against 8-14, a third of the
# strips blurred up to 0.8 px against 1.0-1.5 (blurring every strip cost
# the wide-gap strips 20 points), ink from 55% against 45-55%, widths
# 0.8-1.25 against 1.4-1.7 and 0.55-0.7.
DEGRADATIONS = {
    "aspect": (0.8, 1.25),
    "low_res": 0.35,
    "low_height": (15, 22),
    "blur": (0.0, 0.8),
    "blurred": 1 / 3,
    "contrast": (0.55, 1.0),
}


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """Where the captioned images come from.

    With ``augment`` the training strips are drawn with ``augmented``
    (wider ranges) instead of ``style``; validation and test keep ``style``.
    """

    source: str = setting(
        "digits",
        "Data source: digits (strips of handwritten MNIST digits, the default), coco:PATH (a "
        "COCO captions file with its image folder beside it), flickr:PATH (the Flickr8k "
        "layout) or tfds:coco_captions (with --data-dir).",
        flag="--data",
    )
    data_dir: str | None = setting(
        None, "tfds: where the prepared data set is.", flag=True, path="dir"
    )
    strips: int = setting(4000, "digits: strips per epoch.", flag=True, min=1)
    validation: int = setting(300, "Held-out strips (or images) for validation.", min=1)
    test: int = setting(500, "Held-out strips (or images) for test.", min=1)
    max_digits: int = setting(5, "digits: the most digits in a strip.", min=1)
    corpus_seed: int = setting(0, "digits: the seed of the held-out strips.")
    style: StripStyle = StripStyle()
    augment: bool = setting(
        True,
        "digits: draw the training strips with wider ranges than the test strips.",
        flag=True,
    )
    augmented: StripStyle = WIDE_STYLE
    degrade: bool = setting(
        False,
        "digits: also degrade the training strips as other scanners and writers do (low "
        "resolution, blur, faint ink, stretched digits): far better on blurred, faint strips, "
        "worse on wide gaps (README, caption quality).",
        flag=True,
    )
    min_count: int = setting(1, "Rarer words are <unk>.", flag=True, min=1)
    max_length: int = setting(
        20, "Caption tokens kept (longer captions are cut in training).", flag=True, min=1
    )


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """Encoder (a grid of image features) and attention decoder.

    Every input image is decoded, resized with its aspect kept and padded to
    ``height`` x ``width`` x ``channels``.
    """

    height: int = setting(32, "Model input height.", flag=True, min=8)
    width: int = setting(128, "Model input width.", flag=True, min=8)
    channels: int = setting(
        1, "Grey (1) or RGB (3) input.", flag=True, choices=(1, 3), min=1, max=3
    )
    encoder: str = setting(
        "cnn",
        "cnn (small, from scratch) or a keras.applications backbone.",
        flag=True,
        choices=ENCODERS,
    )
    encoder_weights: str | None = setting(
        None,
        "ImageNet weights (.h5 / .weights.h5) for the backbone; never downloaded.",
        flag=True,
        path="file",
    )
    fine_tune: bool = setting(
        False, "Train the backbone too (or keep it).", flag=True, off="--frozen"
    )
    filters: int = setting(64, "Filters of the cnn encoder's first block.", min=1)
    row_encoder: bool = setting(
        False, "A bidirectional LSTM along each row of the encoder's grid.", flag=True
    )
    cell: str = setting("lstm", "Decoder cell.", flag=True, choices=CELLS)
    units: int = setting(128, "Decoder cell units.", flag=True, min=1)
    embedding: int = setting(64, "Word embedding size.", min=1)
    attention_units: int = setting(64, "Units of the Bahdanau attention.", min=1)
    dropout: float = setting(0.2, "Decoder dropout.", flag=True, **RATE)
    attention_penalty: float = setting(
        0.0,
        "Weight of Show, Attend and Tell's doubly stochastic attention penalty (0: off).",
        flag=True,
        min=0,
    )
    tied_embeddings: bool = setting(
        False,
        "Predict words with the (transposed) embedding matrix.",
        flag=True,
        off="--untied-embeddings",
    )
    beam: int = setting(3, "The default beam width.", min=1)
    length_penalty: float = setting(
        0.6, "Exponent of GNMT's length normalisation in the beam search.", min=0
    )

    def __post_init__(self):
        super().__post_init__()
        if self.encoder != "cnn" and self.channels != 3:
            raise ValueError(
                f"the {self.encoder} backbone reads RGB images: `channels` must be 3 "
                f"(--channels 3). Received: channels={self.channels}"
            )
        if self.encoder_weights and self.encoder == "cnn":
            raise ValueError(
                "`encoder_weights` loads a keras.applications backbone; the cnn encoder has none. "
                f"Received: encoder={self.encoder!r}, encoder_weights={self.encoder_weights!r}"
            )


@dataclasses.dataclass(frozen=True)
class CaptionConfig(AppConfig):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()


PRESETS = {
    # Seconds: for tests; no dropout, so runs on one and on two replicas see
    # the same random draws (none).
    "tiny": CaptionConfig(
        data=DataConfig(strips=64, validation=16, test=16, max_digits=3, max_length=3),
        model=ModelConfig(filters=8, units=16, embedding=8, attention_units=8, dropout=0.0),
        train=TINY_TRAIN,
    ),
    # The demo: about 4 minutes on two CPU cores. Attention learns per step:
    # more strips an epoch did better than more epochs, and 15 epochs better
    # than 12 on validation and test alike (docs/benchmarks.md, caption quality).
    "quick": CaptionConfig(
        data=DataConfig(strips=8000, validation=300, test=500, max_length=5),
        model=ModelConfig(filters=32, units=128, embedding=32, attention_units=64),
        train=QUICK_TRAIN.replace(epochs=15, warmup_steps=50),
    ),
    # The best quality: a wider encoder and decoder, twice quick's strips and
    # more epochs (about 36 minutes on two CPU cores). The whole cosine schedule:
    # validation loss is noisy while the rate is high, and early stop after 4
    # epochs without a better one ended a run at 13 of 24, well short of what
    # the whole schedule reaches (docs/benchmarks.md, caption quality).
    "full": CaptionConfig(
        data=DataConfig(strips=16000, validation=500, test=1000, max_length=5),
        model=ModelConfig(filters=64, units=256, embedding=64, attention_units=128),
        train=FULL_TRAIN.replace(epochs=24, patience=None),
    ),
}
