# mcl_mm: `make demo` and `make test` install what they need on first use.
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
DEMO_CONFIG := configs/mcl/mcl_r18-fpn_1xb16-96px-s3-100it_demo.py
DEMO_DIR := work_dirs/demo
COINS_CONFIG := configs/benchmarks/mmdetection/mask-rcnn_r18-fpn-conv_1xb2-30e_coins-demo.py

.PHONY: setup setup-gpu demo finetune-demo mini-transfer evidence \
	evidence-fidelity test test-fast test-numpy1 lint docs

setup:
	MCL_VENV=$(abspath $(VENV)) bash tools/setup_env.sh

# into the current Python (a CUDA build of torch): mmcv 2.1.0 with its CUDA
# ops, built once and cached, then the OpenMMLab stack and mcl_mm
setup-gpu:
	bash tools/setup_gpu.sh

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

# the paired evidence (docs/en/evidence.md): 5 seeds in two processes of one
# thread each (two MCL pre-trainings side by side: 8.7 min each, one alone
# 6.6-7.3 min), resumable;
# then the summary from the finished stages, their result files copied to
# docs/evidence/cpu and the paired statistics to docs/evidence/results.json
EVIDENCE_ARGS := --data-dir data/paste --pretrain-iters 400 \
	--finetune-epochs 20 --val-begin 14 --equal-flops 1.332 --probe
EVIDENCE_DIR := work_dirs/evidence
evidence: setup
	[ -f data/paste/annotations/test.json ] || $(PY) tools/prepare_paste_data.py data/paste
	mkdir -p $(EVIDENCE_DIR)
	OMP_NUM_THREADS=1 $(PY) tools/benchmarks/mini_transfer.py --work-dir $(EVIDENCE_DIR) \
	    --seeds 0 2 4 $(EVIDENCE_ARGS) > $(EVIDENCE_DIR)/stream024.log 2>&1 & \
	OMP_NUM_THREADS=1 $(PY) tools/benchmarks/mini_transfer.py --work-dir $(EVIDENCE_DIR) \
	    --seeds 1 3 $(EVIDENCE_ARGS) > $(EVIDENCE_DIR)/stream13.log 2>&1 & \
	wait
	$(PY) tools/benchmarks/mini_transfer.py --work-dir $(EVIDENCE_DIR) --seeds 0 1 2 3 4 \
	    $(EVIDENCE_ARGS) --collect-only --export docs/evidence/cpu
	cp $(EVIDENCE_DIR)/evidence.json docs/evidence/results.json

# the fidelity arms on the same design (docs/en/fidelity.md):
# MCL S=3 and S=2 with the authors' per-level blur, and that S=3 in the
# authors' forward; one stage pair (pre-training, fine-tune) per call, its
# results exported as it finishes, so a killed run loses one stage at most;
# then the summary of every arm from the exported results (an arm and seed
# whose results are exported already is skipped)
FIDELITY_ARMS := mcl_s3 mcl_s2 mcl_s3_authors
FIDELITY_PAIRS := mcl_s3-mcl_s1 mcl_s2-mcl_s1 mcl_s3_authors-mcl_s3 \
	mcl_s3-byol_flops mcl_s3-byol mcl_s3-mcl mcl_s3-random
fidelity_stream = for arm in $(FIDELITY_ARMS); do for seed in $(1); do \
	[ -d docs/evidence/cpu/finetune_$${arm}_seed$$seed ] || \
	OMP_NUM_THREADS=1 $(PY) tools/benchmarks/mini_transfer.py \
	    --work-dir $(EVIDENCE_DIR) --seeds $$seed --arms $$arm \
	    $(EVIDENCE_ARGS) --export docs/evidence/cpu || exit 1; done; done
evidence-fidelity: setup
	[ -f data/paste/annotations/test.json ] || $(PY) tools/prepare_paste_data.py data/paste
	mkdir -p $(EVIDENCE_DIR)
	($(call fidelity_stream,0 2 4)) > $(EVIDENCE_DIR)/fidelity024.log 2>&1 & \
	($(call fidelity_stream,1 3)) > $(EVIDENCE_DIR)/fidelity13.log 2>&1 & \
	wait
	$(PY) tools/benchmarks/mini_transfer.py --work-dir docs/evidence/cpu \
	    --seeds 0 1 2 3 4 $(EVIDENCE_ARGS) --collect-only \
	    --arms mcl byol byol_flops mcl_s1 $(FIDELITY_ARMS) random \
	    --pairs $(FIDELITY_PAIRS) --summary-dir docs/evidence/fidelity

# everything (what CI runs)
test: setup
	$(PY) -m pytest tests -q $(PYTEST_ARGS)

# all but the tests marked slow (subprocesses, training, many-config
# builds): about 4 minutes on 2 cores
test-fast: setup
	$(PY) -m pytest tests -q -m "not slow"

# the test environment runs numpy 2; this runs what numpy touches most (the
# CPU colour jitter against mmcv's own on numpy 1, the augments, the
# datasets, the compat shims and a CPU-path training step) with numpy 1
# first on the path (installed into NUMPY1_DIR, the venv unchanged)
NUMPY1_DIR := $(abspath $(VENV))-numpy1
test-numpy1: setup
	[ -d $(NUMPY1_DIR)/numpy ] || $(PY) -m pip install -q \
	    --disable-pip-version-check --target $(NUMPY1_DIR) "numpy<2"
	PYTHONPATH=$(NUMPY1_DIR) $(PY) -m pytest -q tests/test_augment \
	    tests/test_datasets tests/test_utils/test_compat.py \
	    tests/test_montage/test_device_crop.py $(PYTEST_ARGS)

LINT_PATHS := mcl_mm benchmarks tools tests configs setup.py docs/en/conf.py \
	docs/en/stat.py
lint: setup
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --recursive --diff $(LINT_PATHS)

# the documentation site: docs/en -> docs/en/_build/html, warnings as errors
# (the docs requirements are installed into the venv on first use)
docs: setup
	$(PY) -c "import sphinx, myst_parser, furo" 2>/dev/null || \
	    $(PY) -m pip install --disable-pip-version-check -q -r requirements/docs.txt
	$(PY) -m sphinx -W --keep-going -b html docs/en docs/en/_build/html
	@echo "documentation: docs/en/_build/html/index.html"
