"""fastai 2.7's ULMFiT recipe on the IMDB sample at a small AWD-LSTM size, for comparison with
fastc's bench/ulmfit_imdb.c and bench/ulmfit_diag.c (issue 7). No WikiText-103 weights offline:
the language model starts from random weights (pretrained=False). spaCy is not installed, so the
tokenizer is fastai's BaseTokenizer (split on spaces) with fastai's default rules.

  /tmp/fai/bin/python bench/fastai_ulmfit_imdb.py TEXTS.csv EMB HID LAYERS LM_EPOCHS [nolm]
    LM: fit_one_cycle(LM_EPOCHS, 1e-2), drop_mult 0.3, bs 32 (fastc's ulmfit_diag lm);
    classifier (drop_mult 0.5, bs 16): fastai's gradual unfreezing, fit_one_cycle(1, 2e-2);
    freeze_to(-2) 1 epoch slice(1e-2/2.6^4, 1e-2); freeze_to(-3) 1 epoch slice(5e-3/2.6^4, 5e-3);
    unfreeze 2 epochs slice(1e-3/2.6^4, 1e-3). `nolm`: the classifier from random weights,
    fit_one_cycle(5, 5e-3).
"""
import sys
import time

import pandas as pd
import torch
from fastai.text.all import (AWD_LSTM, BaseTokenizer, CategoryBlock, ColReader, ColSplitter, DataBlock,
                             RandomSplitter, TextBlock, accuracy, awd_lstm_clas_config, awd_lstm_lm_config,
                             language_model_learner, text_classifier_learner)

torch.set_num_threads(1)
csv, emb, hid, layers, lm_epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
no_lm = len(sys.argv) > 6 and sys.argv[6] == "nolm"
df = pd.read_csv(csv)
t0 = time.time()
size = dict(emb_sz=emb, n_hid=hid, n_layers=layers)
lm_cfg = {**awd_lstm_lm_config, **size}
clas_cfg = {**awd_lstm_clas_config, **size}
torch.manual_seed(42)
dls_lm = DataBlock(blocks=TextBlock.from_df("text", is_lm=True, tok=BaseTokenizer()), get_x=ColReader("text"),
                   splitter=RandomSplitter(0.1, seed=42)).dataloaders(df, bs=32, seq_len=72)
print(f"LM vocab {len(dls_lm.vocab)}", flush=True)
if not no_lm:
    lm = language_model_learner(dls_lm, AWD_LSTM, config=lm_cfg, pretrained=False, drop_mult=0.3)
    lm.fit_one_cycle(lm_epochs, 1e-2)
    lm.save_encoder("fastai_imdb_enc")
    print(f"LM done {time.time() - t0:.0f}s", flush=True)
dls = DataBlock(blocks=(TextBlock.from_df("text", vocab=dls_lm.vocab, tok=BaseTokenizer()), CategoryBlock),
                get_x=ColReader("text"), get_y=ColReader("label"),
                splitter=ColSplitter("is_valid")).dataloaders(df, bs=16)
clas = text_classifier_learner(dls, AWD_LSTM, config=clas_cfg, pretrained=False, drop_mult=0.5, metrics=accuracy)
if no_lm:
    clas.fit_one_cycle(5, 5e-3)
else:
    clas.path = lm.path
    clas.load_encoder("fastai_imdb_enc")
    k = 2.6 ** 4
    clas.fit_one_cycle(1, 2e-2)
    clas.freeze_to(-2)
    clas.fit_one_cycle(1, slice(1e-2 / k, 1e-2))
    clas.freeze_to(-3)
    clas.fit_one_cycle(1, slice(5e-3 / k, 5e-3))
    clas.unfreeze()
    clas.fit_one_cycle(2, slice(1e-3 / k, 1e-3))
print(f"classifier done {time.time() - t0:.0f}s", flush=True)
