/* Internals shared by the vision models, create_body/create_head and the arch table (never
 * installed). */
#ifndef FASTC_VISION_MODELS_IMPL_H
#define FASTC_VISION_MODELS_IMPL_H

#include "../core/core_impl.h"
#include "fastc/vision.h"

/* m, or NULL after freeing m when an error is pending (a constructor or registration failed). */
fc_module *fci_model_done(fc_module *m);

/* Redraws w (a Conv2d [O, I, kh, kw] or Linear [O, I] weight) from N(0, 2 / fan): torch's
 * kaiming_normal_(nonlinearity="relu") with fan = fan_out (O * kh * kw) or fan_in (I * kh * kw). */
fc_status fci_kaiming_normal(fc_tensor *w, int fan_out);
/* Fills a parameter (a leaf that requires grad) with value, outside autograd. */
fc_status fci_fill_param(fc_tensor *t, double value);
/* Conv2d(in, out, k, stride, padding = k / 2, bias=False). */
fc_module *fci_conv_nobias(int64_t in, int64_t out, int k, int stride);

/* y = m.<name>(x). x is freed when it is not keep (so a block's chain of temporaries goes as soon
 * as the next one exists, while its input survives for the shortcut). */
fc_tensor *fci_child_fwd(fc_module *m, const char *name, fc_tensor *x, const fc_tensor *keep);
/* Runs m's children in order on x, flattening to [N, -1] before child flatten_before (-1: never):
 * torchvision's ResNet.forward (avgpool, flatten, fc). */
fc_tensor *fci_forward_children(fc_module *m, fc_tensor *x, int flatten_before);

/* nn.AdaptiveMaxPool2d(size) (no nn.h constructor yet). */
fc_module *fci_adaptive_maxpool2d_new(int64_t size);

/* The options with defaults resolved: n_in 3, n_out default_out, widen 1; FC_ERR_ARG on negative
 * values (fn names the model in the message). */
fc_status fci_model_opts(const char *fn, const fc_model_opts *o, int64_t default_out, fc_model_opts *out);

/* Export and inference (h-export, src/vision/create_model.c and export.c): vision_learner's model for
 * an arch, input channels, outputs and options; the config export saves for it (recorded on the
 * learner as application "vision"). */
fc_module *fci_vision_build_model(const fc_arch *arch, int64_t n_in, int64_t n_out, const fc_model_opts *model,
                                  const fc_create_head_opts *head);
/* The same from vision_learner's options (create_model.c; o->pretrained: weights to load). */
fc_module *fci_vision_create_model(const fc_arch *arch, int64_t n_in, int64_t n_out, const fc_vision_learner_opts *o);
fc_status fci_vision_record_app(fc_learner *learn, const char *arch, int64_t n_in, int64_t n_out,
                                const fc_model_opts *model, const fc_create_head_opts *head);

#endif
