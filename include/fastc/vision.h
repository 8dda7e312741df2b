/* fastc vision: image item transforms (Resize, RandomResizedCrop, CropPad, RandomCrop), batch
 * augmentation fused into one affine sampling pass (aug_transforms), the models (simple_cnn,
 * ResNet-18/34/50 with torchvision's names, ResNet-20 for CIFAR, xresnet, ResNet-9), create_body /
 * create_head, image DataLoaders from folders and vision_learner. fastai's names and defaults. */
#ifndef FASTC_VISION_H
#define FASTC_VISION_H

#include "learner.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ImageNet statistics (fastai's imagenet_stats) for fc_normalize(.mean, .std, .n_channels = 3). */
FC_API extern const float fc_imagenet_mean[3];
FC_API extern const float fc_imagenet_std[3];
#define fc_normalize_imagenet() \
    fc_normalize(.mean = fc_imagenet_mean, .std = fc_imagenet_std, .n_channels = 3)

/* How areas outside the source image are filled. FC_PAD_DEFAULT is each transform's fastai default
 * (reflection for Resize and aug_transforms, zeros for CropPad and RandomCrop). */
typedef enum fc_pad_mode {
    FC_PAD_DEFAULT = 0,
    FC_PAD_ZEROS,
    FC_PAD_REFLECTION,
    FC_PAD_BORDER
} fc_pad_mode;

/* ==== item transforms (src/vision/resize.c, src/vision/resample.c: h-vtfm) ========================
 * Item transforms act on one item's values: images (u8 or float [C, H, W]; u8 stays u8) resampled
 * bilinearly, antialiased when shrinking (like PIL's BILINEAR and torch's antialias=True); masks
 * ([H, W] i64) with nearest; points ([n, 2] x, y pixels) and bboxes ([n, 4]) moved and scaled with
 * the image (bboxes clipped to it). The random draw (crop position, scale) is made once per item
 * from ctx->rng, so every value of the item gets the same geometry: it draws from a copy of
 * *ctx->rng and never advances it. Points and bboxes carry no image size: they take it from the
 * image or mask before them in the same item. Order 1 unless said. */

typedef enum fc_resize_method {
    FC_RESIZE_CROP = 0, /* the largest crop of the target's aspect ratio: random on train, centre on valid */
    FC_RESIZE_PAD,      /* the whole image, padded to the target's aspect ratio (pad_mode); placed at
                         * random on train, centred otherwise (as fastai)                             */
    FC_RESIZE_SQUISH    /* the whole image, stretched                                                  */
} fc_resize_method;

typedef struct fc_resize_opts {
    int _;
    int64_t w;               /* output width; 0: size (square)                */
    fc_resize_method method; /* default crop                                  */
    fc_pad_mode pad_mode;    /* default reflection                            */
} fc_resize_opts;
/* fastai's Resize(size): to size x w (height x width). */
FC_API fc_transform *fc_resize_(int64_t size, const fc_resize_opts *o);
#define fc_resize(size, ...) fc_resize_((size), &(fc_resize_opts){._ = 0, __VA_ARGS__})

typedef struct fc_random_resized_crop_opts {
    int _;
    int64_t w;          /* 0: size                                                    */
    double min_scale;   /* 0: 0.08 — fraction of the area                             */
    double max_scale;   /* 0: 1                                                       */
    double ratio_lo;    /* 0: 3/4 — aspect ratio range (w / h)                        */
    double ratio_hi;    /* 0: 4/3                                                     */
    double val_xtra;    /* 0: 0.14; negative: 0 — valid resizes to size + xtra, then centre-crops */
} fc_random_resized_crop_opts;
/* fastai's RandomResizedCrop: on train a random crop of scale in [min_scale, max_scale] and ratio
 * in [ratio_lo, ratio_hi] (10 tries, then a centre crop), resized to size; on valid the whole image
 * squished to size + ceil(size * val_xtra / 8) * 8 and centre-cropped to size. */
FC_API fc_transform *fc_random_resized_crop_(int64_t size, const fc_random_resized_crop_opts *o);
#define fc_random_resized_crop(size, ...) \
    fc_random_resized_crop_((size), &(fc_random_resized_crop_opts){._ = 0, __VA_ARGS__})

typedef struct fc_crop_pad_opts {
    int _;
    int64_t w;            /* 0: size                               */
    fc_pad_mode pad_mode; /* default zeros                         */
    int64_t padding;      /* RandomCrop: pixels padded on each side first (torchvision's padding=4) */
} fc_crop_pad_opts;
/* fastai's CropPad: centre crop (or pad) to size x w, train and valid alike. */
FC_API fc_transform *fc_crop_pad_(int64_t size, const fc_crop_pad_opts *o);
#define fc_crop_pad(size, ...) fc_crop_pad_((size), &(fc_crop_pad_opts){._ = 0, __VA_ARGS__})
/* RandomCrop: pad by .padding, then a random size x w crop on train; a centre crop on valid (the
 * CIFAR "pad 4 and crop" augmentation). */
FC_API fc_transform *fc_random_crop_(int64_t size, const fc_crop_pad_opts *o);
#define fc_random_crop(size, ...) fc_random_crop_((size), &(fc_crop_pad_opts){._ = 0, __VA_ARGS__})

/* ==== batch augmentation (src/vision/augment.c, src/vision/affine.c: h-vaug) ======================
 * fastai's aug_transforms as ONE train-only batch transform (order 30): for each image of the batch
 * it draws a flip, rotation, zoom and perspective warp, composes them into one 3x3 matrix and one
 * coordinate grid, samples the image once (bilinear, pad_mode), then applies brightness and
 * contrast (fastai's LightingTfm: in logit space) in the same pass. Each part happens with its
 * probability per image (flip 0.5, affine parts p_affine, lighting parts p_lighting). Input: a
 * float batch [N, C, H, W] in [0, 1] (after IntToFloat), or a list value of differently-sized
 * images (done image by image); masks are sampled nearest and points move with their image. Runs
 * before Normalize (order 99). */
typedef struct fc_aug_opts {
    int _;
    double mult;          /* 0: 1 — multiplies max_rotate, max_lighting and max_warp            */
    int no_flip;          /* 1: do_flip=False                                                   */
    int flip_vert;        /* 1: dihedral (8 flips / quarter turns) instead of horizontal flips  */
    double max_rotate;    /* degrees; 0: 10; negative: no rotation                              */
    double min_zoom;      /* 0: 1                                                               */
    double max_zoom;      /* 0: 1.1; negative: no zoom                                          */
    double max_lighting;  /* 0: 0.2; negative: no brightness/contrast                           */
    double max_warp;      /* 0: 0.2; negative: no warp                                          */
    double p_affine;      /* 0: 0.75; negative: 0                                               */
    double p_lighting;    /* 0: 0.75; negative: 0                                               */
    int64_t size;         /* output size (square); 0: the input's                               */
    fc_pad_mode pad_mode; /* default reflection                                                 */
    int nearest;          /* 1: nearest instead of bilinear sampling for images                 */
} fc_aug_opts;
FC_API fc_transform *fc_aug_transforms_(const fc_aug_opts *o);
#define fc_aug_transforms(...) fc_aug_transforms_(&(fc_aug_opts){._ = 0, __VA_ARGS__})

/* The sampling step alone, for any given transforms: out[n] = x[n] sampled at theta[n] applied to
 * the output's coordinates (PyTorch's affine_grid + grid_sample, align_corners=True, coordinates
 * in [-1, 1]; theta is [N][2][3] row-major). x: f32 [N, C, H, W]; a new tensor [N, C, out_h, out_w]
 * in the current scope, no gradient. */
FC_API fc_tensor *fc_affine_sample(fc_tensor *x, const float *theta, int64_t out_h, int64_t out_w,
                                   fc_pad_mode pad_mode, int nearest);

/* ==== models (src/vision/models/: h-vmodels) =======================================================
 * Each returns a new module in training mode with PyTorch's default init (torchvision's and
 * fastai's own init where they differ: kaiming_normal fan_out for torchvision ResNet convs, BN
 * weight 1 bias 0), or NULL on failure. n_in: input channels (0: 3); n_out: outputs (0: 1000 for
 * the ImageNet models, 10 for the CIFAR ones). */
typedef struct fc_model_opts {
    int _;
    int64_t n_in;
    int64_t n_out;
    double widen;      /* xresnet, resnet9: channel multiplier; 0: 1 (0.25: a small, fast model) */
    double p;          /* xresnet: dropout before the final linear; 0: none                     */
} fc_model_opts;
/* torchvision's resnet18/34/50: names conv1, bn1, relu, maxpool, layer1..layer4 (BasicBlock or
 * Bottleneck: conv1, bn1, conv2, bn2[, conv3, bn3], downsample.0/.1), avgpool, fc. A torchvision
 * state_dict saved as safetensors loads with fc_module_load. */
FC_API fc_module *fc_resnet18_(const fc_model_opts *o);
FC_API fc_module *fc_resnet34_(const fc_model_opts *o);
FC_API fc_module *fc_resnet50_(const fc_model_opts *o);
#define fc_resnet18(...) fc_resnet18_(&(fc_model_opts){._ = 0, __VA_ARGS__})
#define fc_resnet34(...) fc_resnet34_(&(fc_model_opts){._ = 0, __VA_ARGS__})
#define fc_resnet50(...) fc_resnet50_(&(fc_model_opts){._ = 0, __VA_ARGS__})
/* ResNet-20 for CIFAR (He et al. 2015; Idelbayev's layout, "option A" parameter-free shortcuts:
 * stride-2 subsampling and channel zero-padding on both sides): conv1, bn1, layer1..3 (3 blocks:
 * conv1, bn1, conv2, bn2), linear. Loads pretrained/resnet20_cifar10.th through fc_module_load_torch (nn.h). */
FC_API fc_module *fc_resnet20_cifar_(const fc_model_opts *o);
#define fc_resnet20_cifar(...) fc_resnet20_cifar_(&(fc_model_opts){._ = 0, __VA_ARGS__})
/* fastai's xresnet18/34/50 (bag of tricks: 3-conv stem 32-32-64, avg-pool shortcuts, zero-init
 * of each block's last BN): a Sequential 0..2 stem ConvLayers, 3 maxpool, 4..7 stages,
 * 8 AdaptiveAvgPool2d(1), 9 Flatten, 10 Dropout(p), 11 Linear. As in fastai, widen multiplies the
 * stage widths (int(64 * widen), ...) and leaves the stem at 32-32-64. */
FC_API fc_module *fc_xresnet18_(const fc_model_opts *o);
FC_API fc_module *fc_xresnet34_(const fc_model_opts *o);
FC_API fc_module *fc_xresnet50_(const fc_model_opts *o);
#define fc_xresnet18(...) fc_xresnet18_(&(fc_model_opts){._ = 0, __VA_ARGS__})
#define fc_xresnet34(...) fc_xresnet34_(&(fc_model_opts){._ = 0, __VA_ARGS__})
#define fc_xresnet50(...) fc_xresnet50_(&(fc_model_opts){._ = 0, __VA_ARGS__})
/* ResNet-9 (Page's DAWNBench CIFAR-10 network): prep conv 64; layer1 conv 128 + maxpool + residual
 * (two convs 128); layer2 conv 256 + maxpool; layer3 conv 512 + maxpool + residual; global max
 * pool, flatten, linear (no bias) scaled by 0.125. Convs 3x3 without bias, each followed by BN and
 * ReLU. A flat Sequential of 13 children (layout in src/vision/models/resnet9.c). .widen scales
 * every width (0.25: 16-32-64-128). */
FC_API fc_module *fc_resnet9_(const fc_model_opts *o);
#define fc_resnet9(...) fc_resnet9_(&(fc_model_opts){._ = 0, __VA_ARGS__})

typedef struct fc_simple_cnn_opts {
    int _;
    const int *kernel_szs; /* n - 1 sizes; NULL: 3 for every layer                 */
    const int *strides;    /* n - 1 strides; NULL: 2 for every layer               */
    int bn;                /* 1: BatchNorm after each conv but the last             */
} fc_simple_cnn_opts;
/* fastai's simple_cnn(actns): convs actns[i] -> actns[i+1] (ReLU after all but the last), then
 * AdaptiveAvgPool2d(1) and Flatten. */
FC_API fc_module *fc_simple_cnn_(const int64_t *actns, int n, const fc_simple_cnn_opts *o);
#define fc_simple_cnn(actns, n, ...) fc_simple_cnn_((actns), (n), &(fc_simple_cnn_opts){._ = 0, __VA_ARGS__})

/* fastai's AdaptiveConcatPool2d(size): [max pool, avg pool] concatenated on channels. */
FC_API fc_module *fc_adaptive_concat_pool2d_new(int64_t size);

typedef struct fc_create_head_opts {
    int _;
    const int64_t *lin_ftrs; /* hidden sizes; NULL: {512}                                 */
    int n_lin_ftrs;
    double ps;               /* 0: 0.5 (the last dropout; earlier ones ps / 2); negative: 0 */
    int no_concat_pool;      /* 1: AdaptiveAvgPool2d instead of AdaptiveConcatPool2d       */
    int no_first_bn;         /* 1: first_bn=False                                         */
    int bn_final;            /* 1: BatchNorm1d after the last linear                      */
    int lin_first;
} fc_create_head_opts;
/* fastai's create_head(nf, n_out): a flat Sequential AdaptiveConcatPool2d, Flatten, then per linear
 * layer BatchNorm1d (fastai's BatchNorm: bias 1e-3), Dropout (none when its p is 0), Linear (no
 * bias after BN), ReLU (not after the last). nf is the
 * body's output channels times 2 when concat-pooling (fc_vision_learner computes it). */
FC_API fc_module *fc_create_head_(int64_t nf, int64_t n_out, const fc_create_head_opts *o);
#define fc_create_head(nf, n_out, ...) \
    fc_create_head_((nf), (n_out), &(fc_create_head_opts){._ = 0, __VA_ARGS__})

/* fastai's create_body: the first children of model (taken) up to cut (negative: counted from the
 * end, as model.children()[:cut]) as a Sequential "0", "1", ... NULL on failure (model freed). */
FC_API fc_module *fc_create_body(fc_module *model, int cut);
/* Output channels of a body (a dummy forward of a 1-image [1, n_in, 64, 64] batch in eval mode,
 * without gradient; the training flags are restored after). -1 on failure. */
FC_API int64_t fc_body_n_features(fc_module *body, int64_t n_in);

/* An architecture vision_learner knows by name: how to build it, where to cut it and how to split
 * the Sequential(body, head) into layer groups (fastai's model_meta). */
typedef struct fc_arch {
    const char *name;                              /* "resnet18", "xresnet50", ...               */
    fc_module *(*make)(const fc_model_opts *o);
    int cut;                                       /* for fc_create_body                          */
    fc_splitter split;                             /* NULL: body, head (two groups)               */
    const float *mean, *std;                       /* the pretrained weights' stats (3 channels)  */
} fc_arch;
/* The architecture of that name, or NULL with FC_ERR_ARG listing the known names. Known:
 * resnet18, resnet34, resnet50, xresnet18, xresnet34, xresnet50, resnet20_cifar, resnet9. */
FC_API const fc_arch *fc_arch_by_name(const char *name);
/* fastai's _resnet_split for Sequential(body, head): body[:6], body[6:], head. */
FC_API fc_status fc_resnet_split(fc_module *model, fc_param_groups *groups);

/* ==== image DataLoaders and vision_learner (src/vision/dls.c, src/vision/learner.c: main) ========= */
typedef struct fc_image_dls_opts {
    int _;
    const char *train;     /* training subfolder; 0: "train"                                      */
    const char *valid;     /* validation subfolder; 0: "valid"                                    */
    double valid_pct;      /* > 0: a random split of all images instead of the two folders        */
    fc_tfms item_tfms;     /* taken; e.g. FC_TFMS(fc_resize(224))                                 */
    fc_tfms batch_tfms;    /* taken; e.g. FC_TFMS(fc_aug_transforms())                            */
    int64_t bs;            /* 0: 64                                                                */
    uint64_t seed;         /* 0: 42                                                                */
    int n_workers;         /* 0: the number of threads fastc uses                                 */
} fc_image_dls_opts;
/* fastai's ImageDataLoaders.from_folder: images under path/train and path/valid (any depth),
 * labelled by their parent folder's name (a CategoryBlock), read as u8 and made float / 255 on
 * batches. NULL on failure (a missing folder, no images: what was looked for and where). */
FC_API fc_dataloaders *fc_image_dls_from_folder_(const char *path, const fc_image_dls_opts *o);
#define fc_image_dls_from_folder(path, ...) \
    fc_image_dls_from_folder_((path), &(fc_image_dls_opts){._ = 0, __VA_ARGS__})

typedef struct fc_vision_learner_opts {
    int _;
    const char *pretrained;  /* weights of the whole arch (safetensors with the arch's names, or a
                              * torch checkpoint); the body is frozen (fastai's pretrained=True).
                              * NULL: random init, nothing frozen                                  */
    int64_t n_out;           /* 0: from the data (the target vocabulary or width) — the normal case */
    int64_t n_in;            /* 0: from the data (channels of the first batch)                      */
    fc_model_opts model;     /* passed to the arch (widen, p); n_in and n_out are set for you      */
    fc_create_head_opts head;
    int no_normalize;        /* 1: with pretrained weights, do not add Normalize(arch stats)        */
    /* the Learner's options */
    fc_loss_func loss_func;  /* zero: from the target (cross entropy for categories, BCE for
                              * multi-category, MSE for regression)                             */
    fc_opt_func opt_func;
    double lr, wd;
    int no_wd;
    fc_metrics metrics;
    fc_callbacks cbs;
    int quiet;
    FILE *log;
} fc_vision_learner_opts;
/* fastai's vision_learner(dls, arch): create_body(arch, cut), create_head(nf * 2, n_out),
 * Sequential(body, head) with the head kaiming-initialised, the arch's splitter, frozen when
 * pretrained. Takes dls, even on failure. */
FC_API fc_learner *fc_vision_learner_(fc_dataloaders *dls, const char *arch, const fc_vision_learner_opts *o);
#define fc_vision_learner(dls, arch, ...) \
    fc_vision_learner_((dls), (arch), &(fc_vision_learner_opts){._ = 0, __VA_ARGS__})

/* ==== export and inference (h-export: src/vision/export.c) =========================================
 * Registers the application "vision" (rebuilding vision_learner models from their exported config)
 * and the item transforms Resize, RandomResizedCrop, CropPad and RandomCrop (fc_transform_register).
 * Runs by itself when fastc's vision code is loaded (the shared library); a program linked
 * statically that only loads exported learners calls it once before fc_load_learner. */
FC_API fc_status fc_vision_register(void);

#ifdef __cplusplus
}
#endif
#endif
