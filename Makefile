# mcl_mm: `make demo` and `make test` install what they need on first use.
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
DEMO_CONFIG := configs/mcl/mcl_r18-fpn_1xb16-96px-s3-100it_demo.py
DEMO_DIR := work_dirs/demo

.PHONY: setup demo test

setup:
	MCL_VENV=$(abspath $(VENV)) bash tools/setup_env.sh

demo: setup
	$(PY) tools/prepare_demo_data.py data/demo
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/visualize_montage.py $(DEMO_CONFIG) --out $(DEMO_DIR)/montages.png
	@echo "checkpoint: $$(ls -t $(DEMO_DIR)/iter_*.pth | head -n 1)"
	@echo "training log: $$(ls -t $(DEMO_DIR)/*/*.log | head -n 1)"
	@echo "montages: $(DEMO_DIR)/montages.png"

test: setup
	$(PY) -m pytest tests -q
