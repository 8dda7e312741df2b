/* Normalization statistics of the pretrained weights fastc knows (fastai's imagenet_stats). */
#include "fastc/vision.h"

const float fc_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
const float fc_imagenet_std[3] = {0.229f, 0.224f, 0.225f};
