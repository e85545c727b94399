# Two commands on a fresh machine: `make demo` (main job on the embedded default; its row goes to runs/results) and
# `make test`.
# Both create .venv and install the project on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-e2e gpu-check install clean-venv compare

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build on this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
	# GPU users: install your CUDA torch first; setup.cfg only asks torch>=2.4.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m experiments.run

test: $(STAMP)
	$(PY) -m pytest tests -p no:cacheprovider -m "not e2e"

# the second, slow tier: every method's command-line path end to end (gpu-check on the CPU)
test-e2e: $(STAMP)
	$(PY) -m pytest tests -p no:cacheprovider -m e2e

# every method's command-line path for a few steps on a GPU, in a temporary folder; DEVICE=cpu for a CPU smoke test
DEVICE ?= cuda
gpu-check: $(STAMP)
	$(PY) -m experiments.gpu_check device=$(DEVICE)

clean-venv:
	rm -rf $(VENV)

# every table (results/tables/, Markdown + CSV), figure (results/figures/) and model card, and results/README.md,
# which embeds them, from the rows in results/rows/
RESULTS_DIR ?= results
compare: $(STAMP)
	$(PY) -m experiments.reports all --results-dir $(RESULTS_DIR)

# --- reproducing results/ (long; each line is one command whose row lands in results/: the committed set is written
# only where a command names it, results_dir=results; every other run writes to runs/results) -------------------
TEACHER_STEPS ?= 8 16 32 64 128 256 1024
DUO_DISTILLED_STEPS ?= 1 2 4 8 16 32
SEQ2SEQ_STEPS ?= 1 10 100 1000 2000

.PHONY: results-teachers results-diffuseq

# the real-text row and MDLM's 1024-step row (the "within 2x" criterion) use 256 samples, the others 64: SEDD and
# Duo make 1,025 network calls per sample at 1024 steps (MDLM's cached sampler far fewer)
results-teachers: $(STAMP)
	$(PY) -m experiments.run results_dir=results method=real_text sampling.num_samples=256
	for t in mdlm sedd duo; do for k in $(TEACHER_STEPS); do n=64; [ $$k$$t = 1024mdlm ] && n=256; \
		$(PY) -m experiments.run results_dir=results teacher=$$t steps=$$k sampling.num_samples=$$n || exit 1; done; done
	for k in $(DUO_DISTILLED_STEPS); do $(PY) -m experiments.run results_dir=results teacher=duo_distilled steps=$$k || exit 1; done
	$(PY) -m experiments.reports all --results-dir results

TASK ?= qqp
N ?= 64

results-diffuseq: $(STAMP)
	$(PY) -m experiments.run results_dir=results method=copy_source task=$(TASK)
	for k in $(SEQ2SEQ_STEPS); do $(PY) -m experiments.run results_dir=results teacher=diffuseq task=$(TASK) steps=$$k sampling.num_samples=$(N) || exit 1; done
	for k in 1 10; do $(PY) -m experiments.run results_dir=results teacher=diffuseq task=$(TASK) steps=$$k sampling.num_samples=$(N) diffuseq.candidates=10 || exit 1; done
	$(PY) -m experiments.reports all --results-dir results

# --- IDLM: distil each committed teacher, then evaluate the committed student beside its controls -----------------
# reproduce-idlm-<teacher>: the exact distillation that made checkpoints/idlm-<teacher>-shakespeare-small (a fresh
# run folder; rerunning the same command resumes it), then the export is copied into checkpoints/. fp32, as every
# run at the common budget (precision=auto picks bf16 on a CPU with avx512_bf16).
IDLM_STEPS ?= 4 8 16 32
# the common budget of every distillation method, in sequence passes (core/cost.py): 1200 IDLM-MDLM updates at
# batch 32 (224 passes per sequence each), which the committed MDLM student received; validation GenPPL of IDLM-MDLM
# plateaus after about 700 updates. A method whose update costs less gets more updates: SDTT's (128 passes) gives
# 2100 = 7 rounds of its default 300, the DCD method's (96) 2800 = 4 rounds of 700.
DISTILL_BUDGET ?= 268800
# the scratch rows a distillation writes when it ends skip the teacher's temperature sweeps (at 1024 steps, about
# 40 CPU-minutes each); results-idlm-headline-% and the rows' recorded commands make the committed ones
NO_SWEEPS := 'eval.frontier_temperatures=[]'

# reproduce-<folder>: the committed teacher or evaluator checkpoints/<folder>, from scratch (scripts/reproduce/)
reproduce-%-small: $(STAMP)
	PY=$(PY) scripts/reproduce/$*-small.sh

# a committed teacher trained further from its weights (train.init_from): qqp 12,000, 10,000 then 8,000 updates (and
# the same 8,000 self-conditioned, -45k-sc),
# qg 6,000 then 4,000 more, ts 2,600, 3,000 then 7,200; and the DLM-One students of the qg teacher trained to 15,000,
# of the qqp teacher trained to 27,000 and of the ts teacher trained to 19,200
reproduce-diffuseq-qqp-small-27k reproduce-diffuseq-qqp-small-37k reproduce-diffuseq-qqp-small-45k \
reproduce-diffuseq-qqp-small-45k-sc \
reproduce-diffuseq-qg-small-11k reproduce-diffuseq-qg-small-15k reproduce-diffuseq-ts-small-9k \
reproduce-diffuseq-ts-small-12k reproduce-diffuseq-ts-small-19k reproduce-dlm_one-qg-small-15k \
reproduce-dlm_one-qqp-small-27k reproduce-dlm_one-ts-small-19k: $(STAMP)
	PY=$(PY) scripts/reproduce/$(@:reproduce-%=%).sh

.PHONY: results-idlm

reproduce-idlm-%: $(STAMP)
	$(PY) -m experiments.run method=idlm teacher=$* steps=8 distill.budget=$(DISTILL_BUDGET) distill.max_steps=100000 distill.max_minutes=0 distill.precision=fp32 $(NO_SWEEPS)
	rm -rf checkpoints/idlm-$*-shakespeare-small
	cp -r runs/idlm-$*-shakespeare-small/student checkpoints/idlm-$*-shakespeare-small

# reproduce-idlm-adversarial-mdlm: IDLM-MDLM with DLM-One's adversarial term at the same budget (320 passes per
# update: 840 updates), in fp32
reproduce-idlm-adversarial-mdlm: $(STAMP)
	$(PY) -m experiments.run method=idlm teacher=mdlm steps=8 idlm.adversarial=true distill.budget=$(DISTILL_BUDGET) distill.max_steps=100000 distill.max_minutes=0 distill.precision=fp32 $(NO_SWEEPS)
	rm -rf checkpoints/idlm-adversarial-mdlm-shakespeare-small
	cp -r runs/idlm-adversarial-mdlm-shakespeare-small/student checkpoints/idlm-adversarial-mdlm-shakespeare-small

# reproduce-sdtt-mdlm: SDTT's student at the same budget, in fp32, at the distill: block's lr 1e-4 (the public code's
# is 3e-4 at batch 128)
reproduce-sdtt-mdlm: $(STAMP)
	$(PY) -m experiments.run method=sdtt teacher=mdlm steps=8 distill.budget=$(DISTILL_BUDGET) distill.max_minutes=0 distill.precision=fp32 $(NO_SWEEPS)
	rm -rf checkpoints/sdtt-mdlm-shakespeare-small
	cp -r runs/sdtt-mdlm-shakespeare-small-steps8/student checkpoints/sdtt-mdlm-shakespeare-small

# reproduce-dcd-duo: the DCD method's student at the same budget (96 passes per update: 4 rounds of 700, dt 1/64 to
# 1/8), at the Duo code's lr 6e-5, in fp32
reproduce-dcd-duo: $(STAMP)
	$(PY) -m experiments.run method=dcd teacher=duo steps=8 dcd.update_teacher_every=700 distill.lr=6e-5 distill.budget=$(DISTILL_BUDGET) distill.max_minutes=0 distill.precision=fp32 $(NO_SWEEPS)
	rm -rf checkpoints/dcd-duo-shakespeare-small
	cp -r runs/dcd-duo-shakespeare-small-steps8/student checkpoints/dcd-duo-shakespeare-small

# reproduce-didi-mdlm: DiDi-Instruct's student at the same budget (416 passes per update: 647 updates), in fp32 as
# the IDLM student was (precision=auto picks bf16 on a CPU with avx512_bf16); its discriminator is copied beside it
reproduce-didi-mdlm: $(STAMP)
	$(PY) -m experiments.run method=didi teacher=mdlm steps=8 distill.budget=$(DISTILL_BUDGET) distill.max_steps=100000 distill.max_minutes=0 distill.precision=fp32 $(NO_SWEEPS)
	rm -rf checkpoints/didi-mdlm-shakespeare-small checkpoints/didi-mdlm-shakespeare-small-discriminator
	cp -r runs/didi-mdlm-shakespeare-small/student checkpoints/didi-mdlm-shakespeare-small
	cp -r runs/didi-mdlm-shakespeare-small/student-discriminator checkpoints/didi-mdlm-shakespeare-small-discriminator

# a committed student's headline rows: 256 samples, the student at K = 8 beside the teacher's temperature sweeps at
# K and at 1024 steps (the frontiers its GenPPL is divided by) and the entropy-matched teacher
HEADLINE_TEMPERATURES ?= [0.7,0.8]
results-idlm-headline-%: $(STAMP)
	$(PY) -m experiments.run results_dir=results method=idlm teacher=$* steps=8 sampling.num_samples=256 \
		student_path=checkpoints/idlm-$*-shakespeare-small eval.frontier_temperatures=$(HEADLINE_TEMPERATURES)
	$(PY) -m experiments.reports all --results-dir results

results-idlm: $(STAMP)
	for t in mdlm sedd duo duo_distilled; do for k in $(IDLM_STEPS); do \
		$(PY) -m experiments.run results_dir=results method=idlm teacher=$$t steps=$$k student_path=checkpoints/idlm-$$t-shakespeare-small || exit 1; \
	done; done
	for k in $(IDLM_STEPS); do \
		$(PY) -m experiments.run results_dir=results method=idlm teacher=duo steps=$$k sampling.predictor=greedy_tail student_path=checkpoints/idlm-duo-shakespeare-small || exit 1; \
	done
	$(PY) -m experiments.reports all --results-dir results
