#!/usr/bin/env bash
# checkpoints/ar_seq2seq-ts-small: the seq2seq AR baseline on the embedded Turk simplification split, made as
# ar_seq2seq-qqp-small.sh makes qqp's: decoder-only GPT-2 architecture (4 layers, 256 hidden), `[CLS] source [SEP]`
# as prefix and `target [SEP]` as continuation, the DiffuSeq ts teacher's task vocabulary and seq_len (96), lr 1e-3
# with 200 warm-up steps and a wsd decay over the last quarter of the steps. The one setting scaled to the data is the
# number of steps: qqp's 600 steps of batch 32 are about 5 passes over its 3,657 training pairs; 2100 steps are about
# as many over ts's 12800. Options: see common.sh.
#
# Hardware of the original: an idle 2-core AMD EPYC CPU, both threads (threads=0), fp32 (precision=auto on a CPU
# without native bf16).
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/ar_seq2seq-ts-small}

phase "$RUN" 2100 teacher=ar_seq2seq task=ts preset=small data.seq_len=96 train.lr_schedule=wsd train.decay_steps=525
done_message "$RUN" ar_seq2seq-ts-small
