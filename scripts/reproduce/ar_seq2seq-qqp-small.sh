#!/usr/bin/env bash
# checkpoints/ar_seq2seq-qqp-small: the seq2seq AR baseline on QQP (DLM-One's fine-tuned GPT-2 rows, at the DiffuSeq
# teacher's size and trained from scratch): decoder-only GPT-2 architecture (4 layers, 256 hidden), `[CLS] source
# [SEP]` as prefix and `target [SEP]` as continuation, the DiffuSeq teacher's task vocabulary (6,076) and seq_len 64,
# 600 steps of batch 32. Options: see common.sh.
#
# Hardware and time of the original: one thread (threads=1) on a shared 2-core Intel Xeon CPU, beside four other
# jobs (load average 5-7): two segments of the same command, 22 + 3 minutes of training (train.max_minutes=22
# stopped the first at step 512).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/ar_seq2seq-qqp-small}

# lr 1e-3 (configs/teachers/ar_seq2seq.yaml), 200 warm-up steps, constant, then a linear decay to 1e-4 over the last
# 150 steps (wsd)
phase "$RUN" 600 teacher=ar_seq2seq task=qqp preset=small threads=1 train.lr_schedule=wsd train.decay_steps=150
done_message "$RUN" ar_seq2seq-qqp-small
