"""The optimizer a ``TrainConfig`` asks for, with its learning-rate schedule."""

import keras

from rnnkit.configs import TrainConfig


def schedule(config: TrainConfig, total_steps: int):
    """Linear warmup to ``learning_rate``, then cosine decay to 5% of it (or constant)."""
    if config.schedule == "constant":
        if config.warmup_steps:
            return keras.optimizers.schedules.CosineDecay(
                0.0,
                decay_steps=1,
                alpha=1.0,
                warmup_target=config.learning_rate,
                warmup_steps=config.warmup_steps,
            )
        return config.learning_rate
    warmup = min(config.warmup_steps, max(total_steps - 1, 0))
    if warmup:
        return keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=max(total_steps - warmup, 1),
            alpha=0.05,
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    return keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(total_steps, 1), alpha=0.05
    )


def make_optimizer(config: TrainConfig, total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW (biases spared) when ``weight_decay`` > 0, else Adam."""
    if config.weight_decay:
        optimizer = keras.optimizers.AdamW(
            schedule(config, total_steps), weight_decay=config.weight_decay
        )
        optimizer.exclude_from_weight_decay(var_names=["bias"])
        return optimizer
    return keras.optimizers.Adam(schedule(config, total_steps))
