#!/usr/bin/env bash
# checkpoints/ar_seq2seq-ts-small: the seq2seq AR baseline on the embedded Turk simplification split, made as
# ar_seq2seq-qqp-small.sh makes qqp's: decoder-only GPT-2 architecture (4 layers, 256 hidden), `[CLS] source [SEP]`
# as prefix and `target [SEP]` as continuation, the DiffuSeq ts teacher's task vocabulary and seq_len, and qqp's
# schedule unchanged: 600 steps of batch 32 at lr 1e-3, 200 warm-up steps, a wsd decay over the last 150. That is
# about 1.5 passes over ts's 12,800 training pairs where qqp's run made 5 over its 3,657: the recipe is kept, not the
# number of passes (the validation loss of the qg run already rose over its last 100 steps). Options: see common.sh.
#
# Hardware of the original: an idle 2-core Intel Xeon CPU with avx512_bf16 and AMX, both threads (threads=0), bf16
# autocast (precision=auto picks it where the CPU runs bf16 natively; fp32 elsewhere); 7 minutes.
source "$(dirname "$0")/common.sh"
RUN=${RUN:-runs/reproduce/ar_seq2seq-ts-small}

phase "$RUN" 600 teacher=ar_seq2seq task=ts preset=small data.seq_len=96 train.lr_schedule=wsd train.decay_steps=150
done_message "$RUN" ar_seq2seq-ts-small
