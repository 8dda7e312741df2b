/* fastc: everything. */
#ifndef FASTC_H
#define FASTC_H
#include "core.h"
#include "cuda.h"
#include "autograd.h"
#include "ops.h"
#include "nn.h"
#include "optim.h"
#include "plot.h"
#include "data.h"
#include "learner.h"
#include "vision.h"
#include "tabular.h"
#include "collab.h"
#include "text.h"
#include "distributed.h"
#endif
