"""fastai 2.7's ULMFiT on the IMDB sample at the reduced size of bench/ulmfit_imdb.c, WITHOUT
pretraining (fastai's WikiText-103 weights are not available offline): the twin of
`ulmfit_imdb none 4 128 384 3 16 32`.
  LM: language_model_learner(AWD_LSTM at emb 128 / hidden 384 / 3 layers, drop_mult 0.3,
      pretrained=False), fit_one_cycle(1 + LM_EPOCHS, 1e-2), save_encoder;
  classifier: text_classifier_learner(drop_mult 0.5), load_encoder, fit_one_cycle(1, 2e-2);
      freeze_to(-2) fit_one_cycle(1, slice(1e-2/2.6**4, 1e-2)); freeze_to(-3)
      fit_one_cycle(1, slice(5e-3/2.6**4, 5e-3)); unfreeze fit_one_cycle(2, slice(1e-3/2.6**4, 1e-3)).
Usage (1 thread, as the fastc run):
  OMP_NUM_THREADS=1 nice -n 19 /tmp/fai/bin/python bench/fastai_ulmfit_imdb.py EXTRACTED_IMDB_DIR [LM_EPOCHS]
"""
import sys, time
import torch
from fastai.text.all import *

torch.set_num_threads(1)
path = Path(sys.argv[1])
lm_epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
cfg = dict(awd_lstm_lm_config, emb_sz=128, n_hid=384, n_layers=3)
ccfg = dict(awd_lstm_clas_config, emb_sz=128, n_hid=384, n_layers=3)
set_seed(42)
t0 = time.time()
df = pd.read_csv(path/'texts.csv')
dls_lm = TextDataLoaders.from_df(df, path=path, text_col='text', is_lm=True, valid_pct=0.1, bs=32, seq_len=72)
print('LM vocab', len(dls_lm.vocab), flush=True)
lm = language_model_learner(dls_lm, AWD_LSTM, config=cfg, drop_mult=0.3, pretrained=False,
                            metrics=[accuracy, Perplexity()])
lm.fit_one_cycle(1 + lm_epochs, 1e-2)
lm.save_encoder('fastai_enc')
t_lm = time.time()
dls = TextDataLoaders.from_df(df, path=path, text_col='text', label_col='label', valid_col='is_valid',
                              text_vocab=dls_lm.vocab, bs=16, seq_len=72)
clas = text_classifier_learner(dls, AWD_LSTM, config=ccfg, drop_mult=0.5, pretrained=False, metrics=accuracy)
clas.load_encoder('fastai_enc')
k = 2.6 ** 4
clas.fit_one_cycle(1, 2e-2)
clas.freeze_to(-2); clas.fit_one_cycle(1, slice(1e-2 / k, 1e-2))
clas.freeze_to(-3); clas.fit_one_cycle(1, slice(5e-3 / k, 5e-3))
clas.unfreeze(); clas.fit_one_cycle(2, slice(1e-3 / k, 1e-3))
print(f'LM {t_lm - t0:.0f} s; classifier {time.time() - t_lm:.0f} s; valid accuracy {clas.recorder.values[-1][2]:.4f}')
