# mcl_mm: `make demo` and `make test` install what they need on first use.
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
DEMO_CONFIG := configs/mcl/mcl_r18-fpn_1xb16-96px-s3-100it_demo.py
DEMO_DIR := work_dirs/demo
COINS_CONFIG := configs/benchmarks/mmdetection/mask-rcnn_r18-fpn-conv_1xb2-30e_coins-demo.py

.PHONY: setup demo finetune-demo mini-transfer test test-fast lint

setup:
	MCL_VENV=$(abspath $(VENV)) bash tools/setup_env.sh

demo: setup
	$(PY) tools/prepare_demo_data.py data/demo
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/visualize_montage.py $(DEMO_CONFIG) --out $(DEMO_DIR)/montages.png
	$(PY) tools/analysis_tools/plot_curves.py $(DEMO_DIR)
	@echo "checkpoint: $$(ls -t $(DEMO_DIR)/iter_*.pth | head -n 1)"
	@echo "training log: $$(ls -t $(DEMO_DIR)/*/*.log | head -n 1)"
	@echo "scalars (loss, std_l*, erank_l*, dense_probe/*): $$(ls -t $(DEMO_DIR)/*/vis_data/scalars.json | head -n 1)"
	@echo "TensorBoard: .venv/bin/tensorboard --logdir $(DEMO_DIR)"
	@echo "montages: $(DEMO_DIR)/montages.png"
	@echo "curves: $(DEMO_DIR)/curves.png"

# the demo checkpoint -> Mask R-CNN on the coins photo, COCO bbox/segm AP
finetune-demo: setup
	[ -f $(DEMO_DIR)/iter_100.pth ] || $(MAKE) demo
	$(PY) tools/prepare_coins_data.py data/coins
	PATH=$(abspath $(VENV))/bin:$$PATH bash tools/benchmarks/mmdetection/mim_train.sh \
	    $(DEMO_DIR)/iter_100.pth $(COINS_CONFIG) 0 mmdet

# MCL vs BYOL vs random init -> Mask R-CNN on the copy-paste set (2 seeds)
mini-transfer: setup
	$(PY) tools/prepare_paste_data.py data/paste
	$(PY) tools/benchmarks/mini_transfer.py --work-dir work_dirs/mini_transfer

# everything (what CI runs)
test: setup
	$(PY) -m pytest tests -q

# all but the subprocess / training tests (marked slow): under a minute
test-fast: setup
	$(PY) -m pytest tests -q -m "not slow"

LINT_PATHS := mcl_mm tools tests configs setup.py
lint: setup
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --recursive --diff $(LINT_PATHS)
